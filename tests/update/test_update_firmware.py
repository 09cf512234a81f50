"""The IO board's firmware follows the running version: the session's terminal has an IO board (the real
firmware under the MicroPython unix port, writing real files in the simulated flash). A bundle that brings
firmware 1.1.0 updates the board through the driver's update, the health window waits for the board to
report it, and a rollback of the software brings back the firmware of the version it returns to."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from kiosk.update.state import Phase
from tests.update.builds import FIRMWARE, FIRMWARE_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.micropython, pytest.mark.timeout(300)]


def firmware_folder(home: Path, version: tuple[int, int, int]) -> Path:
    folder = home / "fw-{}.{}.{}".format(*version)
    folder.mkdir()
    for path in FIRMWARE.glob("*.py"):
        shutil.copyfile(path, folder / path.name)
    (folder / "version.py").write_text(f"FIRMWARE_VERSION = {version}\n")
    return folder


def board_state(running, timeout: float, **wanted) -> dict:
    deadline = time.monotonic() + timeout
    board: dict = {}
    while time.monotonic() < deadline:
        status = running.host.status() or {}
        board = (status.get("update") or {}).get("ioboard") or {}
        if all(board.get(k) == v for k, v in wanted.items()):
            return board
        time.sleep(0.3)
    raise AssertionError(f"IO board never {wanted}: {board}; log: {running.host.log_tail()}")


def test_board_firmware_is_updated_with_the_software_and_goes_back_with_it(running, bundles, tmp_path):
    assert board_state(running, 30, configured=True, connected=True, firmware=FIRMWARE_VERSION)
    first = running.state().current
    assert first.firmware_version == FIRMWARE_VERSION          # every bundle brings the board's firmware

    newer = firmware_folder(tmp_path, (1, 1, 0))
    version = running.next_version()
    done = running.update_cli("install", "--from", str(bundles.bundle(version, firmware=newer,
                                                                      firmware_version="1.1.0")))
    assert done.returncode == 0, (done.stderr, running.host.log_tail())
    board = board_state(running, 10, firmware="1.1.0", sync="updated")
    assert board["sync_detail"] == f"{FIRMWARE_VERSION} → 1.1.0" and board["expected"] == "1.1.0"
    assert (running.board_flash / "version.py").read_bytes() == (newer / "version.py").read_bytes()
    state = running.state()
    assert state.phase is Phase.IDLE and (state.current.version, state.current.firmware_version) == (version, "1.1.0")

    back = running.update_cli("rollback")
    assert back.returncode == 0, (back.stderr, running.host.log_tail())
    board_state(running, 30, firmware=FIRMWARE_VERSION, sync="updated")
    assert (running.board_flash / "version.py").read_bytes() == (FIRMWARE / "version.py").read_bytes()
    assert running.state().current == first
