"""The installer's journal (``<root>/state.json``): which slot runs, which one it replaced, what an
interrupted install was doing, the last outcome, and the recent transitions the terminal reports to
central. Always replaced whole (write, fsync, rename, fsync the folder), so after a kill or a power loss
it is the old journal or the new one, never a mix."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

EVENTS_KEPT = 40


class Phase(StrEnum):
    """Where an install or rollback stands; every phase but IDLE is finished by ``kiosk update resume``."""

    IDLE = "idle"
    STAGING = "staging"        # the target slot is being built beside the running one
    SWITCHING = "switching"    # the target slot is complete; ``current`` is about to point at it
    TRIAL = "trial"            # the service runs the target; it must prove itself within the window
    REVERTING = "reverting"    # going back to the last confirmed slot


class Action(StrEnum):
    INSTALL = "install"
    ROLLBACK = "rollback"


class Result(StrEnum):
    """How an install or rollback ended (``update.result`` to central)."""

    INSTALLED = "installed"      # the target runs and is confirmed
    ROLLED_BACK = "rolled_back"  # the target did not prove itself: the previous version runs again
    REFUSED = "refused"          # the bundle was refused before anything changed
    FAILED = "failed"            # staging failed; the running version was never touched


@dataclass(frozen=True)
class SlotRef:
    """An installed side-by-side environment: ``<root>/slots/<name>`` holding one version."""

    name: str
    version: str
    firmware_version: str | None = None


@dataclass(frozen=True)
class Target:
    """What an unfinished install or rollback is moving to, and who asked for it."""

    action: Action
    slot: SlotRef
    bundle: str | None = None
    rollout_id: str | None = None


@dataclass(frozen=True)
class Trial:
    """The health window of a switched slot. ``resumes`` counts how often an interrupted window was taken
    up again (installer killed, power lost): after a few the target is given up."""

    started_at: float
    window_s: float
    baseline: Mapping[str, Any]
    resumes: int = 0


@dataclass(frozen=True)
class Outcome:
    result: Result
    version: str
    from_version: str | None
    code: str
    detail: str
    at: str
    rollout_id: str | None = None


@dataclass(frozen=True)
class Event:
    """One transition, numbered by the journal's ``seq``; ``result`` is set on the final one."""

    seq: int
    stage: str
    version: str
    at: str
    detail: str = ""
    rollout_id: str | None = None
    result: Result | None = None
    from_version: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class UpdateState:
    seq: int = 0
    phase: Phase = Phase.IDLE
    current: SlotRef | None = None
    previous: SlotRef | None = None
    target: Target | None = None
    trial: Trial | None = None
    last: Outcome | None = None
    events: tuple[Event, ...] = field(default_factory=tuple)
    slots_made: int = 0
    requests: tuple[str, ...] = field(default_factory=tuple)   # ids of the service's requests taken up

    def with_event(self, stage: str, version: str, detail: str = "", **extra: Any) -> UpdateState:
        """A copy one ``seq`` further with this transition recorded (the older ones trimmed)."""
        rollout = extra.pop("rollout_id", None) or (self.target.rollout_id if self.target is not None else None)
        event = Event(self.seq + 1, stage, version, now_iso(), detail[:300], rollout, **extra)
        return replace(self, seq=self.seq + 1, events=(*self.events, event)[-EVENTS_KEPT:])


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# -- JSON ------------------------------------------------------------------------------------------------
def _slot(raw: Any) -> SlotRef | None:
    if raw is None:
        return None
    return SlotRef(str(raw["name"]), str(raw["version"]), raw.get("firmware_version"))


def _slot_json(slot: SlotRef | None) -> dict[str, Any] | None:
    return None if slot is None else {"name": slot.name, "version": slot.version,
                                      "firmware_version": slot.firmware_version}


def to_json(state: UpdateState) -> dict[str, Any]:
    target = state.target
    trial = state.trial
    last = state.last
    return {
        "v": 1, "seq": state.seq, "phase": state.phase.value, "slots_made": state.slots_made,
        "requests": list(state.requests),
        "current": _slot_json(state.current), "previous": _slot_json(state.previous),
        "target": None if target is None else {"action": target.action.value, "slot": _slot_json(target.slot),
                                               "bundle": target.bundle, "rollout_id": target.rollout_id},
        "trial": None if trial is None else {"started_at": trial.started_at, "window_s": trial.window_s,
                                             "baseline": dict(trial.baseline), "resumes": trial.resumes},
        "last": None if last is None else {"result": last.result.value, "version": last.version,
                                           "from_version": last.from_version, "code": last.code,
                                           "detail": last.detail, "at": last.at, "rollout_id": last.rollout_id},
        "events": [{"seq": e.seq, "stage": e.stage, "version": e.version, "at": e.at, "detail": e.detail,
                    "rollout_id": e.rollout_id, "result": None if e.result is None else e.result.value,
                    "from_version": e.from_version, "code": e.code} for e in state.events],
    }


def from_json(raw: Mapping[str, Any]) -> UpdateState:
    """Raises KeyError, TypeError or ValueError on a journal that is not ours."""
    if raw.get("v") != 1:
        raise ValueError("journal version")
    target = raw.get("target")
    trial = raw.get("trial")
    last = raw.get("last")
    target_slot = _slot(target["slot"]) if target else None
    return UpdateState(
        seq=int(raw["seq"]), phase=Phase(raw["phase"]), slots_made=int(raw.get("slots_made", 0)),
        requests=tuple(str(r) for r in raw.get("requests", [])),
        current=_slot(raw.get("current")), previous=_slot(raw.get("previous")),
        target=None if not target or target_slot is None else Target(Action(target["action"]), target_slot,
                                                                      target.get("bundle"), target.get("rollout_id")),
        trial=None if not trial else Trial(float(trial["started_at"]), float(trial["window_s"]),
                                           dict(trial.get("baseline") or {}), int(trial.get("resumes", 0))),
        last=None if not last else Outcome(Result(last["result"]), str(last["version"]), last.get("from_version"),
                                           str(last.get("code", "")), str(last.get("detail", "")),
                                           str(last.get("at", "")), last.get("rollout_id")),
        events=tuple(Event(int(e["seq"]), str(e["stage"]), str(e["version"]), str(e["at"]), str(e.get("detail", "")),
                           e.get("rollout_id"), Result(e["result"]) if e.get("result") else None,
                           e.get("from_version"), e.get("code")) for e in raw.get("events", [])),
    )


# -- the file --------------------------------------------------------------------------------------------
def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replaces ``path`` with ``data`` so that a crash leaves the old or the new content."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(path: Path, state: UpdateState) -> None:
    write_atomic(path, json.dumps(to_json(state), ensure_ascii=False, indent=1).encode("utf-8"))


def load(path: Path) -> UpdateState | None:
    """The journal, or None when there is none yet. Raises ValueError when it exists but is unreadable."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"update journal {path} unreadable: {exc}") from None
    try:
        return from_json(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"update journal {path} is not a journal of this version: {exc!r}") from None
