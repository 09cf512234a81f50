"""Device state as the application sees it: which devices are installed and working, what that allows
(notice printing, card flows, capture), the status light, and the one place that prints a document."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from kiosk.ports import CameraPort, IoBoardPort, PrinterPort, PrinterState, PrintFailed, ReceiptsPort

log = logging.getLogger(__name__)


class DeviceHealth(StrEnum):
    OK = "ok"
    MISSING = "missing"   # configured but not answering
    ABSENT = "absent"     # not installed on this terminal


class Light(StrEnum):
    """Status light (green idle / yellow busy / red fault); locked and offline blink."""

    IDLE = "green:steady"
    BUSY = "yellow:steady"
    FAULT = "red:steady"
    LOCKED = "red:blink"
    OFFLINE = "yellow:blink"


# What a villager reads when a device stops a flow.
MESSAGES = {
    "no_paper": "打印机缺纸，暂停网上提交（需要打印受理通知书）。查询和咨询可以继续使用，请联系工作人员加纸。",
    "printer_missing": "打印机暂时不能使用，暂停网上提交。查询和咨询可以继续使用。",
    "reader_missing": "身份证读卡器暂时不能使用，需要刷身份证的业务请到人工窗口办理。",
    "camera_missing": "高拍仪暂时不能使用，材料请带原件到窗口。",
    "store_corrupt": "本机数据存储出现故障，暂停提交申请，请到人工窗口办理。咨询和查询可以继续使用，已通知工作人员。",
    "store_key_lost": "本机数据存储出现故障，暂停提交申请，请到人工窗口办理。咨询和查询可以继续使用，已通知工作人员。",
    "store_full": "终端存储空间已满，暂停提交申请，请到人工窗口办理。咨询和查询可以继续使用，已通知工作人员。",
    "sync_fault": "终端与政务服务平台的连接出现故障，已通知工作人员。申请仍可提交，恢复后自动上传。",
}


class Devices:
    """Tracks device health from watcher events and printer polls; publishes ``status`` on change."""

    def __init__(self, emit: Callable[[dict[str, Any]], None], *, printer: PrinterPort | None = None,
                 receipts: ReceiptsPort | None = None, camera: CameraPort | None = None,
                 ioboard: IoBoardPort | None = None, has_reader: bool = False, has_scanner: bool = False,
                 print_timeout: float = 15.0, camera_configured: bool | None = None) -> None:
        self._emit = emit
        self.printer = printer
        self.receipts = receipts
        self.camera = camera
        self.camera_configured = camera is not None if camera_configured is None else camera_configured
        self.ioboard = ioboard
        self.print_timeout = print_timeout
        self._lock = threading.RLock()
        self._print_lock = threading.Lock()  # one job at a time on the printer
        # An installed reader counts as working until its watcher reports it lost (the watcher only
        # reports changes); the scanner watcher reports its first state itself.
        self.reader = DeviceHealth.OK if has_reader else DeviceHealth.ABSENT
        self.scanner = DeviceHealth.MISSING if has_scanner else DeviceHealth.ABSENT
        self.printer_state = PrinterState(online=False, error="no_printer") if printer is None else PrinterState(False)
        self.io_state: dict[str, str] = {}
        self.locked: str | None = None  # reason when locked
        self.online: bool | None = False   # the platform reachable; None: not known yet (just started)
        self.busy = False
        self.sync_fault: str | None = None   # sync at fault, not merely offline (kiosk.health.sync_fault)
        self.store_block: str | None = None  # MESSAGES key when the store refuses new cases
        self.on_change: Callable[[], None] | None = None   # e.g. the health reporter: something changed
        self._light: Light | None = None

    # Updates from watchers -----------------------------------------------------------------------
    def set_reader(self, ok: bool) -> None:
        self._set("reader", DeviceHealth.OK if ok else DeviceHealth.MISSING)

    def set_scanner(self, ok: bool) -> None:
        self._set("scanner", DeviceHealth.OK if ok else DeviceHealth.MISSING)

    def set_io(self, kind: str, value: str) -> None:
        with self._lock:
            self.io_state[kind] = value
        self.publish()

    def set_online(self, online: bool | None) -> None:
        if online != self.online:
            self.online = online
            self.publish()

    def set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.update_light()

    def set_locked(self, reason: str | None) -> None:
        self.locked = reason
        self.publish()

    def set_camera(self, camera: CameraPort | None) -> None:
        """A camera that opened late (retried after a failed start), or None when it went away."""
        self.camera = camera
        self.publish()

    def set_printer(self, printer: PrinterPort, receipts: ReceiptsPort) -> None:
        """A printer that opened late (retried after a failed start); its state comes with the next poll."""
        self.printer, self.receipts = printer, receipts
        self.poll_printer()
        self.publish()

    def set_sync(self, fault: str | None, store: str) -> None:
        """The sync engine's state as the health reporter sees it: a fault (connection failing, store
        unusable) and the store's state (ok, full, corrupt, key_lost)."""
        block = f"store_{store}" if f"store_{store}" in MESSAGES else None
        if fault == self.sync_fault and block == self.store_block:
            return
        if fault != self.sync_fault:
            (log.error if fault else log.info)("sync state: %s", fault or "no fault")
        self.sync_fault, self.store_block = fault, block
        self.publish()

    def _set(self, name: str, value: DeviceHealth) -> None:
        with self._lock:
            if getattr(self, name) == value:
                return
            setattr(self, name, value)
        self.publish()

    def poll_printer(self) -> PrinterState:
        """Ask the printer for its status (blocking; run off the event loop)."""
        if self.printer is None:
            return self.printer_state
        try:
            state = self.printer.status()
        except Exception as exc:  # a driver fault is a state to show, not a crash
            state = PrinterState(online=False, error=getattr(exc, "code", "offline"))
        self._set_printer(state)
        return state

    def _set_printer(self, state: PrinterState) -> None:
        with self._lock:
            changed = state != self.printer_state
            self.printer_state = state
        if changed:
            log.info("printer state: online=%s paper=%s cover=%s error=%s",
                     state.online, state.paper, state.cover, state.error)
            self.publish()

    # What the state allows -----------------------------------------------------------------------
    def notice_block(self) -> str | None:
        """Why a submission cannot go on now (a villager message), or None: the store refuses new cases,
        or the printer cannot print the acceptance notice."""
        if self.store_block is not None:
            return MESSAGES[self.store_block]
        state = self.printer_state
        # Paper first: a printer out of paper also reports itself offline, and "add paper" is the fix.
        if self.printer is not None and state.paper == "out":
            return MESSAGES["no_paper"]
        if self.printer is None or not state.online or state.cover != "closed" or state.error:
            return MESSAGES["printer_missing"]
        return None

    def card_block(self) -> str | None:
        return None if self.reader is DeviceHealth.OK else MESSAGES["reader_missing"]

    def print(self, document: Any) -> None:
        """Print and wait for the printer's confirmation. Raises PrintFailed with a stable code."""
        if self.printer is None:
            raise PrintFailed("no_printer", "no printer installed")
        with self._print_lock:
            try:
                self.printer.print(document, timeout=self.print_timeout)
            except PrintFailed:
                self.poll_printer()
                raise
            except Exception as exc:
                self.poll_printer()
                raise PrintFailed(getattr(exc, "code", "printer_error"), str(exc)) from exc
        self.poll_printer()

    # Light and status ----------------------------------------------------------------------------
    def light(self) -> Light:
        if self.locked:
            return Light.LOCKED
        if (self.notice_block() and self.printer is not None) or self.reader is DeviceHealth.MISSING \
                or self.sync_fault or self.store_block:
            return Light.FAULT
        if self.online is False:
            return Light.OFFLINE
        return Light.BUSY if self.busy else Light.IDLE

    def update_light(self) -> None:
        light = self.light()
        if light is self._light or self.ioboard is None:
            self._light = light
            return
        self._light = light
        color, pattern = light.value.split(":")
        try:
            self.ioboard.set_light(color, pattern)
        except Exception as exc:  # the IO board is optional hardware
            log.warning("status light not set: %s", exc)

    def status(self) -> dict[str, Any]:
        state = self.printer_state
        return {
            "printer": {"installed": self.printer is not None, "online": state.online, "paper": state.paper,
                        "cover": state.cover, "error": state.error},
            "idcard": self.reader.value, "scanner": self.scanner.value,
            "camera": DeviceHealth.OK.value if self.camera is not None
            else DeviceHealth.MISSING.value if self.camera_configured else DeviceHealth.ABSENT.value,
            "io": dict(self.io_state), "online": self.online, "locked": self.locked,
            "light": self.light().value,
            "sync": {"fault": self.sync_fault, "store": self.store_block,
                     "message": MESSAGES[self.store_block] if self.store_block
                     else MESSAGES["sync_fault"] if self.sync_fault else None},
            "blocks": {"notice": self.notice_block(), "card": self.card_block(),
                       "camera": None if self.camera is not None else MESSAGES["camera_missing"],
                       "submit": MESSAGES[self.store_block] if self.store_block else None},
        }

    def publish(self) -> None:
        self.update_light()
        self._emit({"type": "status", "status": self.status()})
        if self.on_change is not None:
            self.on_change()
