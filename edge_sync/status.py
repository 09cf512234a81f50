"""The engine's status read from the store alone, so that another process can read it too (``kiosk sync
status``): whether an engine runs (its pid still alive with the same start time), the outbox, the last ack,
the catalog version and the latest alarms."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_sync.outbox import outbox_stats
from edge_sync.store import CaseState, Store


def read_status(store: Store, *, running: bool, connected: bool,
                last_ack_at: float | None = None) -> dict[str, Any]:
    """Status from the store alone (works from another process: ``kiosk sync status``)."""
    session = store.get("session") or {}
    alive = running
    if not running:
        # Another process may run the engine: trust its record only while that very process lives (a
        # reused pid has another start time).
        pid = int(session.get("pid", 0))
        alive = bool(session.get("running")) and _pid_alive(pid) \
            and session.get("started") is not None and session.get("started") == start_ticks(pid)
        connected = alive and bool(session.get("connected"))
    stats = outbox_stats(store)
    last = last_ack_at if last_ack_at is not None else store.get("last_ack_at")
    rejected = store.scalar("SELECT COUNT(*) FROM cases WHERE state = ?", (CaseState.REJECTED.value,))
    return {"connected": connected, "engine_running": alive, "epoch": int(store.get("epoch", 0)),
            "outbox": stats["depth"],
            "outbox_total": stats["total"], "oldest_pending_s": stats["oldest_s"],
            "last_ack": None if last is None else datetime.fromtimestamp(float(last)).astimezone()
            .isoformat(timespec="seconds"),
            "catalog_version": store.get("catalog.version"), "rejected_cases": rejected,
            "alarms": (store.get("alarms") or [])[-5:]}


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot, ``/proc/<pid>/stat`` field 22); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
