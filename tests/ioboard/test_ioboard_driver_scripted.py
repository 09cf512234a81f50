"""Driver behaviour that the real firmware rarely shows, played by a scripted board on a pty: command
retries with the same seq, timeouts, NAKs, NO_SESSION after a board restart, version mismatch, event
repeats versus a wrapped seq."""
from __future__ import annotations

import os
import select
import threading
import time
import tty

import pytest

from drivers.ioboard import CommandTimeout, FirmwareRejected, IoBoard, VersionMismatch
from drivers.ioboard import protocol as p
from tests.ioboard.conftest import EventLog
from tests.ioboard.vectors import BY_NAME

STATUS = BY_NAME["welcome"].payload[5:]


class ScriptedBoard:
    """The board end of a pty, driven step by step by the test."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.decoder = p.FrameDecoder()
        self.seq = 0
        self.backlog: list[p.Frame] = []

    def expect(self, ftype: int, timeout: float = 5.0) -> p.Frame:
        """The next frame of that type the host sent (others are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.backlog += self._read(deadline)
            while self.backlog:
                frame = self.backlog.pop(0)
                if frame.type == ftype:
                    return frame
        raise TimeoutError(f"host sent no {ftype:#x}")

    def _read(self, deadline: float) -> list[p.Frame]:
        ready, _, _ = select.select([self.master], [], [], max(0.0, min(0.1, deadline - time.monotonic())))
        return self.decoder.feed(os.read(self.master, 256)) if ready else []

    def send(self, ftype: int, payload: bytes = b"", seq: int | None = None) -> None:
        if seq is None:
            seq, self.seq = self.seq, (self.seq + 1) & 0xFF
        os.write(self.master, p.encode_frame(ftype, seq, payload))

    def welcome(self) -> None:
        hello = self.expect(p.FrameType.HELLO)
        self.send(p.FrameType.WELCOME, bytes([1, hello.seq, 2, 3, 4]) + STATUS)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def scripted():
    board = ScriptedBoard()
    try:
        yield board
    finally:
        board.close()


def _open(scripted: ScriptedBoard, log=None, **kwargs) -> IoBoard:
    driver = IoBoard(scripted.port, log, ack_timeout=0.2, silence_timeout=60, **kwargs)
    driver.start()
    scripted.welcome()
    assert driver._ready.wait(5)
    return driver


def test_retries_keep_the_seq_and_time_out(scripted) -> None:
    driver = _open(scripted)
    try:
        with pytest.raises(CommandTimeout):
            driver.buzz("short")
        tries = [scripted.expect(p.FrameType.BUZZ) for _ in range(3)]
        assert len({(t.seq, t.payload) for t in tries}) == 1
        assert driver.info is not None and driver.info.firmware_version == "2.3.4"
    finally:
        driver.close()


def test_no_session_means_handshake_again_then_repeat(scripted) -> None:
    driver = _open(scripted)
    try:
        done = threading.Event()

        def set_red() -> None:
            driver.set_light("red")
            done.set()

        worker = threading.Thread(target=set_red, daemon=True)
        worker.start()
        first = scripted.expect(p.FrameType.SET_LIGHT)
        scripted.send(p.FrameType.NAK, bytes([first.seq, p.NakReason.NO_SESSION]))
        scripted.welcome()  # the driver said HELLO again
        # First the restore of the wanted light, then the repeat of the command itself.
        for _ in range(2):
            again = scripted.expect(p.FrameType.SET_LIGHT)
            assert again.payload == bytes([p.Color.RED, p.Pattern.STEADY])
            scripted.send(p.FrameType.ACK, bytes([again.seq]))
        assert done.wait(5)
        worker.join(5)
    finally:
        driver.close()


def test_version_mismatch_is_reported(scripted) -> None:
    driver = IoBoard(scripted.port, handshake_timeout=3.0)
    driver.start()
    try:
        hello = scripted.expect(p.FrameType.HELLO)
        scripted.send(p.FrameType.NAK, bytes([hello.seq, p.NakReason.BAD_VERSION]))
        deadline = time.monotonic() + 5
        while not isinstance(driver.last_error, VersionMismatch) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert isinstance(driver.last_error, VersionMismatch)
        assert driver.last_error.code == "ioboard_version"
        assert not driver.connected
    finally:
        driver.close()


def test_event_repeat_delivered_once_but_a_wrapped_seq_is_news(scripted) -> None:
    log = EventLog()
    driver = _open(scripted, log)
    try:
        scripted.send(p.FrameType.EVENT, b"\x01\x01", seq=40)
        assert scripted.expect(p.FrameType.ACK).payload == bytes([40])
        scripted.send(p.FrameType.EVENT, b"\x01\x01", seq=40)  # our ACK "was lost"
        assert scripted.expect(p.FrameType.ACK).payload == bytes([40])
        scripted.send(p.FrameType.EVENT, b"\x03\x01", seq=40)  # same seq, other event: wrapped
        assert scripted.expect(p.FrameType.ACK).payload == bytes([40])
        scripted.send(p.FrameType.EVENT, b"\x09\x01", seq=41)  # unknown kind: acked, not delivered
        assert scripted.expect(p.FrameType.ACK).payload == bytes([41])
        scripted.send(p.FrameType.EVENT, b"\x02\x01", seq=42)
        log.wait("presence", "on")
        assert log.inputs() == [("tamper", "open"), ("help", "pressed"), ("presence", "on")]
    finally:
        driver.close()


def _update_in_thread(driver: IoBoard, files: dict[str, bytes]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            driver.update_firmware(files, "1.1.0", restart_timeout=5)
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, errors


def test_update_refused_while_a_firmware_is_on_trial(scripted) -> None:
    driver = _open(scripted)
    try:
        worker, errors = _update_in_thread(driver, {"version.py": b"FIRMWARE_VERSION = (1, 1, 0)\n"})
        state = scripted.expect(p.FrameType.FW_STATE)
        scripted.send(p.FrameType.ACK, bytes([state.seq, 0x03, 1, 0, 0]))  # on trial, backup kept
        worker.join(5)
        assert isinstance(errors[0], FirmwareRejected) and "on trial" in str(errors[0])
        assert errors[0].reason == p.NakReason.BAD_STATE and errors[0].running_version == "2.3.4"
        with pytest.raises(TimeoutError):
            scripted.expect(p.FrameType.FW_BEGIN, timeout=0.3)  # nothing was begun
    finally:
        driver.close()


def test_update_stops_when_the_board_holds_another_length(scripted) -> None:
    driver = _open(scripted)
    try:
        worker, errors = _update_in_thread(driver, {"app.py": b"x" * 100})
        for ftype in (p.FrameType.FW_STATE, p.FrameType.FW_BEGIN, p.FrameType.FW_FILE):
            frame = scripted.expect(ftype)
            extra = bytes([0, 0, 0, 0]) if ftype == p.FrameType.FW_STATE else b""
            scripted.send(p.FrameType.ACK, bytes([frame.seq]) + extra)
        chunk = scripted.expect(p.FrameType.FW_DATA)
        assert chunk.payload[:4] == b"\x00\x00\x00\x00" and len(chunk.payload) == 64
        scripted.send(p.FrameType.ACK, bytes([chunk.seq, 0, 0, 0, 59]))  # one byte short of the chunk
        worker.join(5)
        assert isinstance(errors[0], FirmwareRejected) and "holds 59 bytes" in str(errors[0])
        with pytest.raises(TimeoutError):
            scripted.expect(p.FrameType.FW_COMMIT, timeout=0.3)  # never committed
    finally:
        driver.close()
