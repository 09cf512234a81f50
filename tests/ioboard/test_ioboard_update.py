"""The IO board's firmware updated over its serial link, end to end: the driver (IoBoard.update_firmware)
against the REAL firmware under the MicroPython unix port in the simulator, writing real files in the
simulated board's flash folder. A good update, a chunk damaged on the link under a valid CRC, the
board's power cut while writing and while committing, a new firmware that does not answer its
handshake, one that crashes at start, one that reports another version, and input refused before
anything is sent. After every fault the board runs the old or the new firmware, never neither."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
import serial

from drivers.ioboard import (
    FirmwareInputError,
    FirmwareInterrupted,
    FirmwareRejected,
    FirmwareRolledBack,
    IoBoard,
    RollbackReason,
)
from drivers.ioboard import protocol as p
from tests.ioboard.conftest import connect, start_sim

pytestmark = [pytest.mark.integration, pytest.mark.micropython]

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "io_board"
BOOT_FILES = {"main.py", "fwboot.py"}
# The board's trial time (60 s on a real board): long enough for a loaded machine to confirm in time,
# short where a test waits it out.
TRIAL_S = "10"
SHORT_TRIAL_S = "3"


def firmware(version: tuple[int, int, int] = (1, 1, 0), **changed: bytes) -> dict[str, bytes]:
    """Every file of the firmware an update may replace, with another version number and changes."""
    files = {path.name: path.read_bytes() for path in FIRMWARE.glob("*.py") if path.name not in BOOT_FILES}
    files["version.py"] = f"FIRMWARE_VERSION = {version}\n".encode()
    files.update({name.replace("__", "."): data for name, data in changed.items()})
    return files


def small_update(version: tuple[int, int, int] = (1, 1, 0)) -> dict[str, bytes]:
    """Two files: enough to exercise several chunks and a multi-file commit, quick to send."""
    files = firmware(version)
    return {"version.py": files["version.py"], "watchdog.py": files["watchdog.py"] + b"# rebuilt\n"}


def flash_holds(flash: Path, files: dict[str, bytes]) -> bool:
    return all((flash / name).read_bytes() == data for name, data in files.items())


def original(names: list[str] | dict[str, bytes]) -> dict[str, bytes]:
    return {name: (FIRMWARE / name).read_bytes() for name in names}


@pytest.fixture
def flash(tmp_path: Path) -> Path:
    return tmp_path / "flash"


@pytest.fixture
def board_sim(flash: Path):
    proc = start_sim("micropython", "--flash", str(flash), "--trial", TRIAL_S)
    try:
        yield proc
    finally:
        proc.stop()


def test_good_update_reports_the_new_version_then_rolls_back_on_request(board_sim, flash: Path) -> None:
    board, log = connect(board_sim)
    try:
        files = firmware()
        seen: list[tuple[int, int]] = []
        result = board.update_firmware(files, "1.1.0", restart_timeout=30, progress=lambda a, b: seen.append((a, b)))
        assert (result.previous_version, result.version) == ("1.0.0", "1.1.0")
        assert result.files == tuple(sorted(files)) and result.bytes_sent == sum(map(len, files.values()))
        assert seen[-1] == (result.bytes_sent, result.bytes_sent)
        assert board.info is not None and board.info.firmware_version == "1.1.0"
        assert board_sim.wait_json(lambda o: "board" in o) == {"board": "restarted", "cause": "reset"}
        assert board_sim.wait_json(lambda o: "firmware" in o)["firmware"] == "1.1.0"
        assert flash_holds(flash, files) and flash_holds(flash / "bak", original(files))
        state = board.firmware_state()
        assert not state.trial and state.backup and state.last_rollback is None
        board.set_light("green")  # the new firmware serves as the old one did
        log.wait("board_boot", "other")  # its start after the update, reported by the new firmware
        # The terminal's own update failed its health window: the installer puts the board back too.
        assert board.rollback_firmware(timeout=20) == "1.0.0"
        assert flash_holds(flash, original(files))
        assert board.firmware_state().last_rollback == RollbackReason.REQUESTED
    finally:
        board.close()


class DamagingPort:
    """A serial port that alters one byte of the Nth FW_DATA chunk and recomputes its CRC: damage the
    link's CRC cannot see, left for the board's whole-file check to find."""

    def __init__(self, url: str, nth: int) -> None:
        self.port = serial.serial_for_url(url, timeout=0.05)
        self.nth, self.seen = nth, 0

    def write(self, data: bytes) -> int | None:
        if data[2] == p.FrameType.FW_DATA:
            self.seen += 1
            if self.seen == self.nth:
                payload = bytearray(data[5:-2])
                payload[-1] ^= 0x20
                data = p.encode_frame(data[2], data[3], bytes(payload))
        return self.port.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.port, name)


def test_a_chunk_damaged_on_the_link_is_refused_and_the_old_firmware_keeps_running(board_sim, flash) -> None:
    port = DamagingPort(board_sim.port, nth=3)
    board = IoBoard(port, settings={"board_heartbeat": 0.3, "event_retry": 0.2}).open(timeout=10)
    try:
        files = small_update()
        with pytest.raises(FirmwareRejected) as info:
            board.update_firmware(files, "1.1.0", restart_timeout=10)
        assert info.value.reason == p.NakReason.BAD_HASH and info.value.code == "ioboard_firmware_rejected"
        assert "watchdog.py" in str(info.value) and info.value.running_version == "1.0.0"
        assert board_sim.wait_json(lambda o: o.get("update") == "bad hash") == {"update": "bad hash",
                                                                                 "name": "watchdog.py"}
        assert flash_holds(flash, original(files)) and not (flash / "upd" / "watchdog.py").exists()
        assert board.status().light_color == p.Color.YELLOW  # the same board, serving, no restart
        assert board.info is not None and board.info.firmware_version == "1.0.0"
        assert board.firmware_state().trial is False
    finally:
        board.close()
        port.close()


class LossyPort(DamagingPort):
    """A serial port that loses the Nth FW_DATA frame and its retransmissions: the command times out
    while the board stays up with its staged update."""

    def __init__(self, url: str, nth: int, lost: int) -> None:
        super().__init__(url, nth)
        self.lost = lost

    def write(self, data: bytes) -> int | None:
        if data[2] == p.FrameType.FW_DATA:
            self.seen += 1
            if self.nth <= self.seen < self.nth + self.lost:
                return len(data)
        return self.port.write(data)


def test_a_link_that_loses_a_chunk_costs_one_file_sent_again(board_sim, flash: Path) -> None:
    port = LossyPort(board_sim.port, nth=5, lost=3)  # the driver sends a frame 3 times
    board = IoBoard(port, settings={"board_heartbeat": 0.3, "event_retry": 0.2}).open(timeout=10)
    try:
        files = small_update()
        result = board.update_firmware(files, "1.1.0", restart_timeout=30)
        assert result.version == "1.1.0" and result.bytes_sent == sum(map(len, files.values()))
        assert flash_holds(flash, files)
    finally:
        board.close()
        port.close()
    opened = []
    while True:
        try:
            line = board_sim.next_json(timeout=0.5)
        except TimeoutError:
            break
        if line.get("update") == "file":
            opened.append(line["name"])
    # version.py is one chunk; watchdog.py's 4th chunk was lost, so that file was started again.
    assert opened == ["version.py", "watchdog.py", "watchdog.py"]


def test_power_cut_while_writing_then_a_second_attempt(board_sim, flash: Path) -> None:
    board, _ = connect(board_sim)
    try:
        board_sim.send("power cut-at write 100")
        files = firmware()
        with pytest.raises(FirmwareInterrupted) as info:
            board.update_firmware(files, "1.1.0", restart_timeout=30)
        assert info.value.running_version == "1.0.0"
        assert board_sim.wait_json(lambda o: "power" in o) == {"power": "cut", "at": "write"}
        assert flash_holds(flash, original(files))
        result = board.update_firmware(files, "1.1.0", restart_timeout=30)
        assert result.version == "1.1.0" and flash_holds(flash, files)
    finally:
        board.close()


@pytest.mark.parametrize("step, outcome", [(1, "old"), (2, "new"), (4, "new")])
def test_power_cut_while_committing_leaves_old_or_new(board_sim, flash: Path, step: int, outcome: str) -> None:
    """Step 1 is before the commit journal exists, 2 right after it, 4 between two renames."""
    board, _ = connect(board_sim)
    try:
        board_sim.send(f"power cut-at commit {step}")
        files = small_update()
        if outcome == "old":
            with pytest.raises(FirmwareInterrupted) as info:
                board.update_firmware(files, "1.1.0", restart_timeout=30)
            assert info.value.running_version == "1.0.0"
            assert flash_holds(flash, original(files))
        else:  # the board finished the commit when it started again, on trial: the driver confirmed it
            assert board.update_firmware(files, "1.1.0", restart_timeout=30).version == "1.1.0"
            assert flash_holds(flash, files) and not board.firmware_state().trial
        assert board_sim.wait_json(lambda o: "power" in o) == {"power": "cut", "at": "commit"}
        assert board.status() is not None  # it answers: never neither
    finally:
        board.close()


def test_a_new_firmware_that_fails_its_handshake_is_rolled_back(flash: Path) -> None:
    silent = (FIRMWARE / "app.py").read_text().replace(
        "    def _hello(self, seq, payload, plen, now):\n",
        "    def _hello(self, seq, payload, plen, now):\n        return  # a broken build: never welcomes\n")
    files = firmware(app__py=silent.encode())
    sim = start_sim("micropython", "--flash", str(flash), "--trial", SHORT_TRIAL_S)
    board, _ = connect(sim)
    try:
        started = time.monotonic()
        with pytest.raises(FirmwareRolledBack) as info:
            board.update_firmware(files, "1.1.0", restart_timeout=30)
        assert info.value.reason == "unconfirmed" and info.value.running_version == "1.0.0"
        assert time.monotonic() - started >= float(SHORT_TRIAL_S)  # the board waited out its trial
        assert sim.wait_json(lambda o: o.get("boot") == "rolled back") == {"boot": "rolled back", "reason": 3}
        assert flash_holds(flash, original(files))
        assert board.info is not None and board.info.firmware_version == "1.0.0"
    finally:
        board.close()
        sim.stop()


def test_an_update_long_after_the_board_started_is_not_rolled_back_before_its_restart(flash: Path) -> None:
    """The trial clock starts at the commit, not at the board's boot: a board that has run longer than its
    trial time (every board in a hall) still takes an update (found by tests/update/test_update_firmware.py)."""
    sim = start_sim("micropython", "--flash", str(flash), "--trial", SHORT_TRIAL_S)
    try:
        board, _ = connect(sim)
        try:
            time.sleep(float(SHORT_TRIAL_S) + 1.0)
            result = board.update_firmware(small_update(), "1.1.0", restart_timeout=30)
            assert result.version == "1.1.0" and board.info is not None and board.info.firmware_version == "1.1.0"
        finally:
            board.close()
    finally:
        sim.stop()


def test_a_new_firmware_that_crashes_at_start_is_rolled_back_at_once(board_sim, flash: Path) -> None:
    files = firmware(app__py=b"raise ImportError('a broken build')\n")
    board, _ = connect(board_sim)
    try:
        with pytest.raises(FirmwareRolledBack) as info:
            board.update_firmware(files, "1.1.0", restart_timeout=30)
        assert info.value.reason == "crashed" and info.value.running_version == "1.0.0"
        assert flash_holds(flash, original(files))
    finally:
        board.close()


def test_a_new_firmware_with_another_version_is_sent_back(board_sim, flash: Path) -> None:
    files = small_update(version=(1, 2, 0))
    board, _ = connect(board_sim)
    try:
        with pytest.raises(FirmwareRolledBack) as info:
            board.update_firmware(files, "1.1.0", restart_timeout=30)
        assert info.value.reason == "wrong version" and info.value.running_version == "1.0.0"
        assert "1.2.0" in str(info.value)
        assert flash_holds(flash, original(files))
    finally:
        board.close()


def test_bad_input_is_refused_before_anything_is_sent(board_sim, flash: Path) -> None:
    board, _ = connect(board_sim)
    try:
        for files, version in (({"main.py": b"print('mine now')\n"}, "1.1.0"), ({}, "1.1.0"),
                               ({"app.py": b""}, "1.1.0"), (small_update(), "1.1")):
            with pytest.raises(FirmwareInputError):
                board.update_firmware(files, version)
        board.set_light("red")  # the next thing the board prints is this, not an update step
        assert board_sim.wait_json(lambda o: "light" in o or "update" in o) == {"light": "red", "pattern": "steady"}
        assert hashlib.sha256((flash / "main.py").read_bytes()).digest() == \
            hashlib.sha256((FIRMWARE / "main.py").read_bytes()).digest()
    finally:
        board.close()
