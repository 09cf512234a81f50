"""The IO board's firmware follows the running version: a bundle that brings firmware 1.1.0 updates the
board (the real firmware under the MicroPython unix port, writing real files in the simulated flash)
through the driver's update, the health window waits for the board to report it, and a rollback of the
software brings the firmware of the version it goes back to."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from kiosk.update.state import Phase
from tests.ioboard.conftest import start_sim

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.micropython, pytest.mark.timeout(300)]
FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "io_board"


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


@pytest.fixture
def board(running, tmp_path):
    """An IO board on the session's terminal for this test (it leaves without it again)."""
    sim = start_sim("micropython", "--flash", str(tmp_path / "flash"), "--trial", "10")
    try:
        running.ioboard = sim.port
        running.write_config()
        running.host.restart_service()
        board_state(running, 60, configured=True, connected=True, firmware="1.0.0")
        yield tmp_path / "flash"
    finally:
        running.ioboard = ""
        running.write_config()
        running.host.restart_service()
        sim.stop()
        running.host.wait_version(running.state().current.version, 60)


def test_board_firmware_is_updated_with_the_software_and_goes_back_with_it(running, bundles, board, tmp_path):
    same = bundles.bundle(running.next_version(), firmware=firmware_folder(tmp_path, (1, 0, 0)),
                          firmware_version="1.0.0")
    done = running.update_cli("install", "--from", str(same))
    assert done.returncode == 0, (done.stderr, running.host.log_tail())
    assert board_state(running, 10, firmware="1.0.0", sync="ok")["expected"] == "1.0.0"
    first = running.state().current

    newer = firmware_folder(tmp_path, (1, 1, 0))
    version = running.next_version()
    done = running.update_cli("install", "--from", str(bundles.bundle(version, firmware=newer,
                                                                      firmware_version="1.1.0")))
    assert done.returncode == 0, (done.stderr, running.host.log_tail())
    assert board_state(running, 10, firmware="1.1.0", sync="updated")["sync_detail"] == "1.0.0 → 1.1.0"
    assert (board / "version.py").read_bytes() == (newer / "version.py").read_bytes()
    state = running.state()
    assert state.phase is Phase.IDLE and (state.current.version, state.current.firmware_version) == (version, "1.1.0")

    back = running.update_cli("rollback")
    assert back.returncode == 0, (back.stderr, running.host.log_tail())
    board_state(running, 30, firmware="1.0.0", sync="updated")
    assert (board / "version.py").read_bytes() == b"FIRMWARE_VERSION = (1, 0, 0)\n"
    assert running.state().current == first
