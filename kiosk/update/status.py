"""The update state as others read it: ``kiosk update status``, the service's ``/api/status`` and
``device.health`` (versions and update state). Read from the installer's journal without a lock; never
raises (an unreadable journal is reported as such)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.update import state as journal
from kiosk.update.slots import Layout


@dataclass(frozen=True)
class UpdateStatus:
    """Versions and update state of one terminal, for health reports and the technician."""

    version: str | None            # the confirmed version (what runs once no install is under way)
    previous: str | None           # kept for a rollback
    phase: str                     # idle, staging, switching, trial, reverting (or "unknown")
    target: str | None             # the version an unfinished install or rollback moves to
    firmware: str | None           # the IO board firmware version the confirmed slot brings
    last_result: str | None = None
    last_version: str | None = None
    last_code: str | None = None
    last_at: str | None = None
    problem: str | None = None

    def to_health(self) -> dict[str, Any]:
        """The ``update`` field of ``device.health`` (contract addendum, "Updates")."""
        return {"sw": self.version, "previous": self.previous, "phase": self.phase, "target": self.target,
                "firmware": self.firmware,
                "last": None if self.last_result is None else {"result": self.last_result,
                                                               "version": self.last_version,
                                                               "code": self.last_code, "at": self.last_at}}


def update_state(root: Path) -> UpdateStatus:
    """What the journal under ``root`` says (``phase`` "none" when nothing was ever installed there)."""
    layout = Layout(Path(root))
    try:
        state = journal.load(layout.journal)
    except ValueError as exc:
        return UpdateStatus(None, None, "unknown", None, None, problem=str(exc)[:200])
    except OSError as exc:
        return UpdateStatus(None, None, "unknown", None, None, problem=f"{type(exc).__name__}")
    if state is None:
        return UpdateStatus(None, None, "none", None, None)
    last = state.last
    return UpdateStatus(
        version=state.current.version if state.current else None,
        previous=state.previous.version if state.previous else None,
        phase=state.phase.value, target=state.target.slot.version if state.target else None,
        firmware=state.current.firmware_version if state.current else None,
        last_result=last.result.value if last else None, last_version=last.version if last else None,
        last_code=last.code if last else None, last_at=last.at if last else None)
