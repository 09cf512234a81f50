"""Trust in the device clock (the Pi has no battery clock): central's ``server_time`` from acks gives
the offset; a clock known to be wrong must never date a promise."""
from __future__ import annotations

import threading
import time
from datetime import datetime
from enum import Enum

from edge_sync.store import Store


class ClockState(str, Enum):
    OK = "ok"            # checked against central in this run, within tolerance
    WRONG = "wrong"      # known to be off by more than the tolerance
    UNKNOWN = "unknown"  # not checked yet in this run


class Clock:
    """Keeps the latest offset (central − device, seconds); persists the last server time seen so that
    a device clock that went back behind it after a power loss is known to be wrong even offline."""

    def __init__(self, store: Store, tolerance_s: float) -> None:
        self.store = store
        self.tolerance_s = tolerance_s
        self.offset_s: float | None = None
        self._last_saved = 0.0
        self._lock = threading.Lock()

    def observe(self, server_time: str | None) -> None:
        """Takes central's RFC 3339 time from an ack; malformed values are ignored."""
        if not server_time:
            return
        try:
            server = datetime.fromisoformat(server_time).timestamp()
        except (TypeError, ValueError):
            return
        now = time.time()
        with self._lock:
            self.offset_s = server - now
        if now - self._last_saved > 60:   # persisting every ack would cost a write per message
            self._last_saved = now
            self.store.put("clock.last_server_time", server)

    def state(self) -> ClockState:
        with self._lock:
            offset = self.offset_s
        if offset is not None:
            return ClockState.OK if abs(offset) <= self.tolerance_s else ClockState.WRONG
        last = self.store.get("clock.last_server_time")
        if last is not None and time.time() < float(last) - self.tolerance_s:
            return ClockState.WRONG
        return ClockState.UNKNOWN

    @property
    def clock_ok(self) -> bool:
        return self.state() is not ClockState.WRONG

    def trusted_now(self) -> datetime | None:
        """Local aware time now, or None when the device clock is known to be wrong."""
        if self.state() is ClockState.WRONG:
            return None
        return datetime.now().astimezone()
