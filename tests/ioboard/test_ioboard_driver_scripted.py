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

from drivers.ioboard import CommandTimeout, IoBoard, VersionMismatch
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
