"""The Pi driver against the simulator running the real firmware (MicroPython unix port and CPython)
over a pty: handshake, every command and event, garbage on the line, a second raw host."""
from __future__ import annotations

import os
import threading
import time

import pytest
import serial

from drivers.ioboard import BuzzPattern, Color, CommandRejected, IoBoard, NotConnected, Pattern
from drivers.ioboard import protocol as p
from tests.ioboard.conftest import EventLog, connect

pytestmark = [pytest.mark.integration, pytest.mark.micropython]


def test_handshake_reports_firmware_and_state(sim) -> None:
    board, log = connect(sim)
    try:
        assert sim.ready["implementation"] in ("micropython", "cpython")
        assert board.info is not None and board.info.protocol_version == 1
        assert board.info.firmware_version == sim.ready["firmware"] == "1.0.0"
        assert board.connected
        log.wait("board_boot", "power_on")
        status = board.status()
        assert (status.light_color, status.light_pattern) == (Color.YELLOW, Pattern.BLINK)  # waiting for the Pi
        assert not status.tamper_open and status.bad_frames == 0
    finally:
        board.close()


def test_every_light_and_buzzer_command(sim) -> None:
    board, _ = connect(sim)
    try:
        for color in (Color.GREEN, Color.YELLOW, Color.RED):
            for pattern in (Pattern.STEADY, Pattern.BLINK, Pattern.FAST):
                board.set_light(color, pattern)
                want = {"light": color.name.lower(), "pattern": pattern.name.lower()}
                assert sim.wait_json(lambda o: "light" in o) == want
        board.set_light("red", "off")
        assert sim.wait_json(lambda o: "light" in o) == {"light": "off", "pattern": "off"}
        for buzz in BuzzPattern:
            board.buzz(buzz)
            assert sim.wait_json(lambda o: "buzzer" in o) == {"buzzer": buzz.name.lower()}
        board.configure(debounce=0.02, heartbeat_timeout=200)
        assert sim.wait_json(lambda o: "config" in o)["config"] == {"debounce_ms": 20, "heartbeat_timeout_ms": 200000}
        status = board.status()
        assert (status.light_color, status.light_pattern) == (Color.OFF, Pattern.OFF)
        with pytest.raises(ValueError):
            board.set_light("purple")
    finally:
        board.close()
    with pytest.raises(NotConnected):
        board.buzz("short")


def test_every_input_event_in_order(sim) -> None:
    board, log = connect(sim)
    try:
        for command, kind, value in (("tamper open", "tamper", "open"), ("presence on", "presence", "on"),
                                     ("press help", "help", "pressed"), ("presence off", "presence", "off"),
                                     ("tamper closed", "tamper", "closed")):
            sim.send(command)
            log.wait(kind, value)
        assert log.inputs() == [("tamper", "open"), ("presence", "on"), ("help", "pressed"),
                                ("presence", "off"), ("tamper", "closed")]  # each exactly once
        # The board's heartbeats carry its state: a lasting change shows up as a board_status event.
        sim.send("tamper open")
        log.wait_for(lambda e: e.kind == "board_status" and e.status.tamper_open, what="status with tamper open")
    finally:
        board.close()


def test_close_ends_every_thread_of_a_resting_driver(sim) -> None:
    """At rest the reader waits in one long read that close() cancels (the scanner's watcher once read on to
    its deadline instead, and its stop() gave up on the thread)."""
    log = EventLog()
    # A quiet board (heartbeat every 30 s): only the cancel can end the reader's wait within close()'s join.
    board = IoBoard(sim.port, log, settings={"board_heartbeat": 30.0, "event_retry": 0.2}, silence_timeout=120.0)
    board.open(timeout=10.0)
    log.wait("board_boot", "power_on")
    time.sleep(0.3)   # the reader is back in its long read
    ours = [t for t in threading.enumerate() if t.name.startswith("ioboard-")]
    assert {t.name for t in ours} >= {"ioboard-reader", "ioboard-events"}
    board.close()
    assert [t.name for t in ours if t.is_alive()] == []
    assert not board.connected


def test_garbage_on_the_line_is_counted_and_survived(sim) -> None:
    board, log = connect(sim)
    # A second writer on the same pty puts noise, false starts and a bad CRC between the driver's frames.
    fd = os.open(sim.port, os.O_WRONLY | os.O_NOCTTY)
    try:
        noise = bytes(range(256)) + bytes.fromhex("A55A1000020101FFFF") + bytes.fromhex("A55A0100FF")
        os.write(fd, noise)
        board.set_light("green", "steady")
        assert sim.wait_json(lambda o: "light" in o) == {"light": "green", "pattern": "steady"}
        os.write(fd, bytes.fromhex("A55A10000201"))  # truncated frame, then the driver's next command
        board.buzz("short")
        assert sim.wait_json(lambda o: "buzzer" in o) == {"buzzer": "short"}
        assert board.status().bad_frames >= 3
        sim.send("tamper open")
        log.wait("tamper", "open")
    finally:
        os.close(fd)
        board.close()


def _raw_exchange(port: serial.Serial, decoder: p.FrameDecoder, frame: bytes, want: int,
                  timeout: float = 5.0) -> p.Frame:
    port.write(frame)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for got in decoder.feed(port.read(64)):
            if got.type == want:
                return got
    raise TimeoutError(f"no frame of type {want:#x}")


def test_raw_host_sees_nak_reasons_and_duplicate_suppression(mp_sim) -> None:
    with serial.serial_for_url(mp_sim.port, timeout=0.05) as port:
        decoder = p.FrameDecoder()
        nak = _raw_exchange(port, decoder, p.set_light(7, Color.RED, Pattern.STEADY), p.FrameType.NAK)
        assert p.parse_nak(nak.payload) == (7, p.NakReason.NO_SESSION)
        welcome = _raw_exchange(port, decoder, b"\x00\x13\xa5" + p.hello(8), p.FrameType.WELCOME)
        assert p.parse_welcome(welcome.payload).ref == 8
        bad = _raw_exchange(port, decoder, p.encode_frame(p.FrameType.SET_LIGHT, 9, b"\x09\x01"), p.FrameType.NAK)
        assert p.parse_nak(bad.payload) == (9, p.NakReason.BAD_PAYLOAD)
        unknown = _raw_exchange(port, decoder, p.encode_frame(0x7E, 10), p.FrameType.NAK)
        assert p.parse_nak(unknown.payload) == (10, p.NakReason.UNKNOWN_TYPE)
        buzz = p.buzz(11, BuzzPattern.SHORT)
        first = _raw_exchange(port, decoder, buzz, p.FrameType.ACK)
        again = _raw_exchange(port, decoder, buzz, p.FrameType.ACK)
        assert first.payload == again.payload == b"\x0b"
        assert mp_sim.wait_json(lambda o: "buzzer" in o) == {"buzzer": "short"}
        port.write(p.buzz(12, BuzzPattern.LONG))
        # The repeat of seq 11 did not sound: the next buzzer line is the new command's.
        assert mp_sim.wait_json(lambda o: "buzzer" in o) == {"buzzer": "long"}
        # Events are repeated with the same seq until acknowledged.
        repeats: list[p.Frame] = []
        deadline = time.monotonic() + 5
        while len(repeats) < 3 and time.monotonic() < deadline:
            repeats += [f for f in decoder.feed(port.read(64)) if f.type == p.FrameType.EVENT]
        assert len(repeats) >= 3 and len({(f.seq, f.payload) for f in repeats}) == 1
        port.write(p.ack(13, repeats[0].seq))


def test_rejected_command_raises(mp_sim) -> None:
    board, _ = connect(mp_sim)
    try:
        with pytest.raises(CommandRejected) as info:
            board._command(p.FrameType.SET_LIGHT, b"\x05\x05")  # values the public API cannot produce
        assert info.value.reason == p.NakReason.BAD_PAYLOAD
        assert info.value.code == "ioboard_rejected"
    finally:
        board.close()


def test_open_fails_cleanly_without_a_board(tmp_path) -> None:
    board = IoBoard(str(tmp_path / "no-such-port"), reconnect_interval=0.1)
    with pytest.raises(NotConnected) as info:
        board.open(timeout=1.0)
    assert info.value.code == "ioboard_not_connected"
