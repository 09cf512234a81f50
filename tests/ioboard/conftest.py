"""Fixtures for the IO board tests: the simulator running the real firmware under the MicroPython unix
port (the main target) or under CPython, and a driver connected to it that records its events."""
from __future__ import annotations

import queue
import sys
import time
from pathlib import Path

import pytest

from drivers.ioboard import IoBoard, IoEvent
from tests.support.simproc import SimProcess

MICROPYTHON = str(Path(sys.executable).parent / "micropython")
INTERPRETERS = {"micropython": ["--interpreter", MICROPYTHON], "cpython": []}
# Fast timings so that tests see the behaviour in seconds, not minutes.
FAST_BOARD = ["--board-heartbeat", "0.3", "--event-retry", "0.2"]


class EventLog:
    """Collects a driver's events; ``wait(kind, value)`` returns the first matching one not yet taken."""

    def __init__(self) -> None:
        self.queue: queue.Queue[IoEvent] = queue.Queue()
        self.seen: list[IoEvent] = []

    def __call__(self, event: IoEvent) -> None:
        self.queue.put(event)

    def wait(self, kind: str, value: str | None = None, timeout: float = 10.0) -> IoEvent:
        return self.wait_for(lambda e: e.kind == kind and (value is None or e.value == value), timeout,
                             f"{kind} {value}")

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "matching") -> IoEvent:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {what} event; seen {self.seen}")
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event

    def inputs(self) -> list[tuple[str, str | None]]:
        return [(e.kind, e.value) for e in self.seen if e.kind in ("tamper", "presence", "help")]


def start_sim(interpreter: str, *extra: str) -> SimProcess:
    proc = SimProcess("ioboard", *INTERPRETERS[interpreter], *FAST_BOARD, *extra, ready_timeout=30.0)
    proc.start()
    try:
        # The firmware shows "waiting for the Pi" at boot; tests look at the changes after that.
        assert proc.wait_json(lambda o: "light" in o, timeout=10) == {"light": "yellow", "pattern": "blink"}
    except BaseException:
        proc.stop()
        raise
    return proc


@pytest.fixture(params=["micropython", "cpython"])
def sim(request):
    proc = start_sim(request.param)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def mp_sim():
    proc = start_sim("micropython")
    try:
        yield proc
    finally:
        proc.stop()


def connect(sim: SimProcess, **kwargs) -> tuple[IoBoard, EventLog]:
    log = EventLog()
    board = IoBoard(sim.port, log, settings={"board_heartbeat": 0.3, "event_retry": 0.2}, **kwargs)
    board.open(timeout=10.0)
    return board, log
