"""The IO board's firmware follows the running slot. A bundle may bring firmware files; they are kept in the
slot (``<slot>/firmware``). When the service starts from a slot, it compares the version the board
reported in its handshake with the slot's and, when they differ, updates the board over its serial link
through the driver — so that a software rollback brings the matching firmware back too, and only the
service (the one owner of the serial port) ever talks to the board. The health window of the installer
waits for the board to report the slot's version."""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.ioboard.firmware import PROTECTED
from kiosk.update.errors import UpdateError
from kiosk.update.slots import SLOT_FILE

if TYPE_CHECKING:
    from drivers.ioboard import IoBoard

log = logging.getLogger(__name__)

CONNECT_WAIT_S = 60.0
RESTART_TIMEOUT_S = 90.0   # covers the board's trial time when a new firmware fails (the driver's advice)


class FirmwareUnavailable(UpdateError):
    """There is no IO board to update."""

    code = "firmware_unavailable"


@dataclass(frozen=True)
class SlotFirmware:
    """The firmware a slot brings: the version the board must report, and the files it takes."""

    version: str
    files: Mapping[str, bytes]


def running_slot() -> Path | None:
    """The slot this process runs from (``<slot>/venv`` is its environment), or None outside a slot."""
    slot = Path(sys.prefix).resolve().parent
    return slot if (slot / SLOT_FILE).is_file() else None


def slot_firmware(slot: Path | None) -> SlotFirmware | None:
    """The firmware of ``slot``, or None when it brings none."""
    if slot is None:
        return None
    try:
        version = json.loads((slot / SLOT_FILE).read_text("utf-8")).get("firmware_version")
    except (OSError, ValueError, AttributeError):
        return None
    folder = slot / "firmware"
    if not isinstance(version, str) or not folder.is_dir():
        return None
    # The board's boot guard and entry points never come from an update (docs/ioboard-protocol.md).
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name not in PROTECTED}
    return SlotFirmware(version, files) if files else None


def flash_board(board: IoBoard | None, files: Mapping[str, bytes], expect_version: str) -> str:
    """The one call into the IO board driver's firmware update (``IoBoard.update_firmware``): files
    written with verification, the board restarted, its version handshake checked, the previous files
    restored by the board on failure. Returns the version the board runs. Raises FirmwareUnavailable
    without a board, and the driver's FirmwareError family when the board did not take the update."""
    if board is None:
        raise FirmwareUnavailable("no IO board")
    return board.update_firmware(files, expect_version, restart_timeout=RESTART_TIMEOUT_S).version


class FirmwareFollower:
    """Once after start, in its own thread: waits for the board, and updates it when its version is not
    the slot's. ``state`` (waiting, ok, updated, failed) and ``detail`` go into ``/api/status``."""

    def __init__(self, firmware: SlotFirmware, info: Callable[[], Mapping[str, Any]],
                 update: Callable[[Mapping[str, bytes], str], str], connect_wait_s: float = CONNECT_WAIT_S) -> None:
        self.firmware, self._info, self._update = firmware, info, update
        self.connect_wait_s = connect_wait_s
        self.state, self.detail = "waiting", ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="ioboard-firmware", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def run(self) -> None:
        deadline = time.monotonic() + self.connect_wait_s
        while not self._info().get("connected"):
            if time.monotonic() > deadline or self._stop.wait(0.5):
                self.state, self.detail = "failed", "the IO board did not answer"
                return
        running = self._info().get("firmware")
        if running == self.firmware.version:
            self.state = "ok"
            return
        log.info("IO board runs firmware %s, this version brings %s: updating the board", running,
                 self.firmware.version)
        try:
            now = self._update(self.firmware.files, self.firmware.version)
        except Exception as exc:  # the driver's FirmwareError family: the board keeps a firmware that runs
            self.state, self.detail = "failed", f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"[:300]
            log.error("IO board firmware not updated: %s", self.detail)
            return
        self.state, self.detail = "updated", f"{running} → {now}"
        log.info("IO board firmware updated: %s", self.detail)

    def status(self) -> dict[str, Any]:
        return {"expected": self.firmware.version, "sync": self.state, "sync_detail": self.detail}
