"""The hand-over from the service to the installer: the service (unprivileged, it holds the MQTT session)
downloads a bundle into its data dir and writes ``request.json``; the installer (root, started by
``kiosk-update.path`` on a terminal) reads it with suspicion — a bundle only from the service's bundles
folder, and the bundle's own signature decides — and carries it out once (ids already done are kept
in the journal)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kiosk.update.state import Action, write_atomic

_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}\.bundle$")


@dataclass(frozen=True)
class Request:
    """Install ``bundle`` (a file name in the bundles folder) or roll back, for rollout ``rollout_id``."""

    id: str
    action: Action
    bundle: str | None = None
    rollout_id: str | None = None


def write_request(path: Path, request: Request) -> None:
    """Replaces any earlier request (the newest command from central wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"id": request.id, "action": request.action.value, "bundle": request.bundle,
            "rollout_id": request.rollout_id}
    write_atomic(path, json.dumps(body).encode("utf-8"))


def read_request(path: Path) -> Request | None:
    """The pending request, or None. Raises ValueError on one the installer must not carry out."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"request unreadable: {type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise ValueError("request is not an object")
    rid, action, bundle, rollout = raw.get("id"), raw.get("action"), raw.get("bundle"), raw.get("rollout_id")
    if not isinstance(rid, str) or not _ID_RE.fullmatch(rid):
        raise ValueError("request id missing or malformed")
    if action not in (Action.INSTALL.value, Action.ROLLBACK.value):
        raise ValueError("request action is neither install nor rollback")
    if rollout is not None and (not isinstance(rollout, str) or not _ID_RE.fullmatch(rollout)):
        raise ValueError("rollout_id malformed")
    if action == Action.INSTALL.value and (not isinstance(bundle, str) or not _NAME_RE.fullmatch(bundle)):
        raise ValueError("an install request names a bundle file of the bundles folder")
    return Request(rid, Action(action), bundle if action == Action.INSTALL.value else None, rollout)
