"""The terminal's ``device.health`` to central (contract §7): built from the devices and the sync
engine's own health, sent every minute and whenever something that matters changes; the same look
at the engine tells the page when sync is at fault rather than just offline."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from edge_sync.health import DeviceHealth, IoHealth, PrinterHealth, StoreState, SyncHealth
from edge_sync.supervise import Worker, WorkerReport
from kiosk.ports import IoBoardPort, SyncPort
from kiosk.services.devices import Devices

log = logging.getLogger(__name__)
INTERVAL_S = 60.0        # contract §7: every 60 s
LOOK_S = 5.0             # how often the engine's state is looked at for changes


class HealthReporter:
    """Worker target :meth:`run`; :meth:`changed` wakes it (device status, lock)."""

    def __init__(self, devices: Devices, sync: SyncPort, ioboard: IoBoardPort | None,
                 app_workers: Callable[[], list[WorkerReport]], *, interval_s: float = INTERVAL_S,
                 look_s: float = LOOK_S, started: float | None = None) -> None:
        self.devices = devices
        self.sync = sync
        self.ioboard = ioboard
        self.app_workers = app_workers
        self.interval_s = interval_s
        self.look_s = look_s
        self.started = time.monotonic() if started is None else started
        self.sent = 0
        self._wake = threading.Event()
        self._last_key: tuple[object, ...] | None = None
        self._last_sent = 0.0
        self._send_failed = False
        # The update state for the report (set when the installer runs this terminal, kiosk/update).
        self.update_status: Callable[[], dict[str, Any]] | None = None

    def changed(self) -> None:
        self._wake.set()

    def build(self, sync: SyncHealth | None = None) -> DeviceHealth:
        d = self.devices
        state = d.printer_state
        io = d.io_state
        board = "absent" if d.ioboard is None else io.get("board", "ok")
        return DeviceHealth(
            printer=PrinterHealth(state.online, state.paper, state.cover),
            idcard=d.reader.value, scanner=d.scanner.value,
            camera="ok" if d.camera is not None else ("missing" if d.camera_configured else "absent"),
            io=IoHealth(tamper=io.get("tamper", "unknown") if board == "ok" else "unknown",
                        presence=io.get("presence", "off"), board=board),
            sync=sync or self.sync.health(), uptime_s=int(time.monotonic() - self.started),
            locked=d.locked, io_firmware=self.ioboard.firmware() if self.ioboard is not None else None,
            app_workers=tuple(self.app_workers()),
            update=self.update_status() if self.update_status is not None else None)

    def run(self, worker: Worker) -> None:
        while not worker.stopping.is_set():
            worker.beat()
            sync = self.sync.health()
            self.devices.set_sync(sync_fault(sync), sync.store)
            report = self.build(sync)
            key = report.change_key()
            now = time.monotonic()
            # Periodic reports only while connected: offline they would only pile up in the outbox (a
            # change is still recorded, and the reconnection itself is a change).
            due = sync.connected and now - self._last_sent >= self.interval_s
            if key != self._last_key or due:
                self._send(report, now)
                self._last_key = key
            self._wake.wait(self.look_s)        # a change, the stop (see stop()), or the next look
            self._wake.clear()

    def stop(self, worker: Worker | None) -> None:
        """Lets :meth:`run` end now rather than at its next look."""
        if worker is not None:
            worker.stopping.set()
        self._wake.set()

    def _send(self, report: DeviceHealth, now: float) -> None:
        try:
            self.sync.send_event("device.health", report.fields())
        except Exception as exc:   # even the reserve is gone: the next look tries again
            if not self._send_failed:
                log.error("device.health not stored: %s", type(exc).__name__)
            self._send_failed = True
            return
        self._send_failed = False
        self._last_sent = now
        self.sent += 1


def sync_fault(health: SyncHealth) -> str | None:
    """Why sync is at fault (not merely offline), for the page and the light; None when it is not."""
    if health.store in (StoreState.CORRUPT, StoreState.KEY_LOST):
        return f"store_{health.store.value}"
    failing = [n for n in health.failing if n.startswith("sync-")]
    return f"{failing[0]}_failing" if failing else None
