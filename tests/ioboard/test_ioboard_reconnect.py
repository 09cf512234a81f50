"""The driver keeps the board across a loss: the port goes away (the simulator stops), commands fail
with NotConnected, the port comes back with a freshly booted board, and the driver does the handshake
again, restores its settings and light, and reports board_lost / board_back once each."""
from __future__ import annotations

import logging

import pytest

from drivers.ioboard import IoBoard, NotConnected
from tests.ioboard.conftest import EventLog, start_sim
from tests.support.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.micropython]


def test_reconnects_when_the_port_comes_back(caplog) -> None:
    caplog.set_level(logging.INFO, logger="drivers.ioboard")
    port = free_port()
    link = ["--link", f"tcp:127.0.0.1:{port}"]
    log = EventLog()
    board = IoBoard(f"socket://127.0.0.1:{port}", log, settings={"board_heartbeat": 0.3, "debounce": 0.02},
                    reconnect_interval=0.2)
    first = start_sim("cpython", *link)
    try:
        board.open(timeout=10)
        board.set_light("green", "blink")
        assert first.wait_json(lambda o: "light" in o) == {"light": "green", "pattern": "blink"}
    finally:
        first.stop()
    log.wait("board_lost")
    with pytest.raises(NotConnected):
        board.buzz("short")
    second = start_sim("micropython", *link)
    try:
        log.wait("board_back", "1.0.0", timeout=15)
        # The new board got the settings and the last light again without the application asking.
        assert second.wait_json(lambda o: "config" in o)["config"] == {"board_heartbeat_ms": 300, "debounce_ms": 20}
        assert second.wait_json(lambda o: "light" in o) == {"light": "green", "pattern": "blink"}
        board.buzz("short")
        assert second.wait_json(lambda o: "buzzer" in o) == {"buzzer": "short"}
        second.send("press help")
        log.wait("help", "pressed")
    finally:
        board.close()
        second.stop()
    kinds = [e.kind for e in log.seen]
    assert kinds.count("board_lost") == 1 and kinds.count("board_back") == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("IO board lost" in m for m in messages) == 1
    assert sum("IO board back" in m for m in messages) == 1
