"""The trusted clock. The Pi has no battery clock, and its wall clock can be set back or forward while
offline; central's ``server_time`` (from acks) plus the monotonic clock since is what the terminal
trusts. Without a server time in this run, the wall clock is trusted only while it moves with the
monotonic clock and is not behind the last server time this device saw (persisted)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from edge_sync.store import Store

PERSIST_EVERY_S = 60.0   # the last server time is written at most this often (one write per ack is too many)


class ClockState(str, Enum):
    OK = "ok"            # checked against central in this run, within tolerance
    WRONG = "wrong"      # off by more than the tolerance from central's time (or behind a time central gave)
    UNKNOWN = "unknown"  # not checked yet in this run, and nothing says it is wrong
    STEPPED = "stepped"  # set back or forward while offline (no server time since): not trusted


class Clock:
    """Thread-safe. ``wall`` and ``mono`` are the two clocks (injectable for tests)."""

    def __init__(self, store: Store, tolerance_s: float, *, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.tolerance_s = tolerance_s
        self._wall, self._mono = wall, mono
        self._lock = threading.Lock()
        self._anchor: tuple[float, float] | None = None      # (server time, monotonic then)
        self._base = wall() - mono()                          # changes only when the wall clock is set
        self.step_s: float | None = None                      # last step of the wall clock seen
        self._stepped = False                                 # a step since the last server time
        self._last_saved = -PERSIST_EVERY_S
        try:
            floor = store.get("clock.last_server_time")
        except Exception:   # an unreadable store: no floor
            floor = None
        self._floor = float(floor) if isinstance(floor, (int, float)) else 0.0

    # -- what central tells us ------------------------------------------------------------------------
    def observe(self, server_time: str | None) -> None:
        """Takes central's RFC 3339 time from an ack; malformed values are ignored."""
        server = _parse(server_time)
        if server is None:
            return
        mono = self._mono()
        with self._lock:
            self._anchor = (server, mono)
            self._base = self._wall() - mono     # the wall clock as it is now is the reference from here on
            self._stepped = False
            self._floor = max(self._floor, server)
            save = mono - self._last_saved > PERSIST_EVERY_S
            if save:
                self._last_saved = mono
        if save:
            try:
                self.store.put("clock.last_server_time", server)
            except Exception:   # a full disk: the floor is kept in memory and written next time
                with self._lock:
                    self._last_saved = -PERSIST_EVERY_S

    def observe_floor(self, timestamp: float) -> None:
        """A time central vouched for (the signed ``issued_at`` of a command): now is at least that."""
        with self._lock:
            self._floor = max(self._floor, timestamp)

    # -- what we believe ----------------------------------------------------------------------------
    def server_now(self) -> float | None:
        """Central's time now (server time of the last ack plus the monotonic time since), or None."""
        with self._lock:
            anchor = self._anchor
        return None if anchor is None else anchor[0] + (self._mono() - anchor[1])

    def floor(self) -> float:
        """A time that has certainly passed (epoch seconds): never goes back, whatever the wall clock does."""
        now = self.server_now()
        with self._lock:
            return max(self._floor, now or 0.0)

    @property
    def offset_s(self) -> float | None:
        """Central − device wall clock (seconds), while a server time is known in this run."""
        now = self.server_now()
        return None if now is None else now - self._wall()

    def state(self) -> ClockState:
        wall = self._wall()
        server = self.server_now()
        with self._lock:
            drift = (wall - self._mono()) - self._base
            if abs(drift) > self.tolerance_s:
                self.step_s = round(drift, 1)
                self._base += drift       # report each step once; the state below stays until central speaks
                self._stepped = True
            stepped = self._stepped
            floor = self._floor
        if server is not None:
            return ClockState.OK if abs(server - wall) <= self.tolerance_s else ClockState.WRONG
        if wall < floor - self.tolerance_s:
            return ClockState.WRONG
        return ClockState.STEPPED if stepped else ClockState.UNKNOWN

    @property
    def clock_ok(self) -> bool:
        return self.state() in (ClockState.OK, ClockState.UNKNOWN)

    def trusted_ts(self) -> float | None:
        """Epoch seconds to judge expiry by: central's time when known, else the wall clock while it is
        trusted, else None."""
        state = self.state()
        server = self.server_now()
        if server is not None:
            return server
        return self._wall() if state is ClockState.UNKNOWN else None

    def trusted_now(self) -> datetime | None:
        """Local aware time now, or None when the device clock is not trusted (do not date promises then).
        A wall clock off from central's time counts as not trusted: the promise would carry its error."""
        if not self.clock_ok:
            return None
        return datetime.fromtimestamp(self._wall()).astimezone()


def _parse(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
