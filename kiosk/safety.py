"""Safety before writes: the IO board's events (tamper, presence, help, the board itself) and the
terminal's alarms. A tamper or a lost board locks the terminal in memory first; the audit record, the
event and the alarm to central follow and may fail (a full disk) without undoing the lock."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kiosk.ports import IoBoardPort, SyncPort
from kiosk.services.bundle import Services
from kiosk.services.devices import Devices
from kiosk.workers import BOARD_GRACE_S

log = logging.getLogger(__name__)
TAMPER_LOCK = "机箱被打开"
BOARD_LOST_LOCK = "控制板连接中断"


class Safety:
    """``audit(actor, action, subject)`` records (it never raises); ``emit`` publishes to the page."""

    def __init__(self, devices: Devices, services: Services, sync: SyncPort | None,
                 emit: Callable[[dict[str, Any]], None], audit: Callable[[str, str, str], None],
                 ioboard: IoBoardPort | None) -> None:
        self.devices, self.services, self.sync = devices, services, sync
        self.emit, self.audit, self.ioboard = emit, audit, ioboard
        self._board_ok_at = time.monotonic()

    def on_io_event(self, kind: str, value: str) -> None:
        if kind == "board":
            if value == "lost":
                self.board_lost()
            else:
                self._board_ok_at = time.monotonic()
                if self.devices.io_state.get("board") != "ok":
                    self.devices.set_io("board", "ok")
            return
        if kind == "tamper":
            self._tamper(value)
            return
        self.devices.set_io(kind, value)
        if kind == "presence" and value == "on":
            self.emit({"type": "presence"})
        elif kind == "help" and value == "pressed":
            self.services.feedback.help("button")

    def _tamper(self, value: str) -> None:
        previous = self.devices.io_state.get("tamper")
        if previous == value:
            return          # the board's status repeats what we know
        self.devices.set_io("tamper", value)
        if value == "open":
            self.services.maintenance.set_locked(TAMPER_LOCK)
        elif self.devices.locked == BOARD_LOST_LOCK:
            self.services.maintenance.set_locked(None)   # the board is back and the enclosure closed
        if value == "open" or previous == "open":
            # An opening, or the closing after one; "closed" first learnt at a (re)connection is not news.
            self.audit("kiosk", "tamper", value)
            self.record("tamper", {"state": value})

    def board_started(self) -> None:
        self._board_ok_at = time.monotonic()

    def board_lost(self) -> None:
        if self.devices.io_state.get("board") == "lost":
            return
        self.devices.set_io("tamper", "unknown")
        self.devices.set_io("board", "lost")
        if not self.devices.locked:
            # Without the board nobody hears the enclosure being opened: the terminal stops serving.
            self.services.maintenance.set_locked(BOARD_LOST_LOCK)
        self.alarm("io_board_lost", {})

    def check_board(self, since_start: float) -> None:
        """Called every second by the board's worker: a board that has not answered for the grace time
        (never since start, or not since it went away without the driver noticing) counts as lost."""
        if self.ioboard is None:
            return
        now = time.monotonic()
        if self.ioboard.connected():
            self._board_ok_at = now
        elif now - self._board_ok_at > BOARD_GRACE_S and since_start > BOARD_GRACE_S:
            self.board_lost()

    def alarm(self, reason: str, fields: dict[str, Any]) -> None:
        """A staff alarm to central (stored within the reserved headroom); the page hears it from the
        engine's ``on_alarm`` before the store is touched, or here when there is no engine."""
        if self.sync is None:
            log.error("ALARM %s (no sync: not sent)", reason)
            self.emit({"type": "alarm", "reason": reason})
            return
        try:
            self.sync.alarm(reason, fields)
        except Exception as exc:
            log.error("alarm %s not stored: %s", reason, type(exc).__name__)
            self.emit({"type": "alarm", "reason": reason})

    def record(self, event: str, fields: dict[str, Any]) -> None:
        """A safety event to central; a failure is logged (the safety action was already taken)."""
        if self.sync is None:
            return
        try:
            self.sync.send_event(event, fields)
        except Exception as exc:
            log.error("%s event not stored: %s", event, type(exc).__name__)
