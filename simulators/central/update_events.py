"""The central side's reading of the events the addendum's "Updates" section adds: ``update.progress``,
``update.result`` and ``logs.uploaded``. Returns a reason instead of raising, like contract.py."""
from __future__ import annotations

from typing import Any

FINAL = ("installed", "rolled_back", "refused", "failed")


def check_update_event(payload: dict[str, Any]) -> str | None:
    """Why an ``update.progress`` / ``update.result`` / ``logs.uploaded`` event is invalid, or None."""
    kind = payload.get("type")
    if kind in ("update.progress", "update.result"):
        if not isinstance(payload.get("version"), str):
            return f"{kind}.version must be text"
        rollout = payload.get("rollout_id")
        if rollout is not None and not isinstance(rollout, str):
            return f"{kind}.rollout_id must be text or null"
        if kind == "update.progress" and not isinstance(payload.get("stage"), str):
            return "update.progress.stage must be text"
        if kind == "update.result" and payload.get("result") not in FINAL:
            return "update.result.result must be one of " + ", ".join(FINAL)
    if kind == "logs.uploaded":
        if not isinstance(payload.get("cmd_id"), str):
            return "logs.uploaded.cmd_id must be text"
        blob = payload.get("blob")
        if blob is not None and (not isinstance(blob, dict) or not isinstance(blob.get("id"), str)):
            return "logs.uploaded.blob must be null or {id, size, sha256, mime}"
    return None
