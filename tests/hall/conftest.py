"""Fixtures of the hall tests: a running hall (broker, central, device simulators, terminal) and its
control panel, and helpers to watch processes and the terminal's event stream."""
from __future__ import annotations

import http.client
import json
import os
import queue
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.hall.control import HallControl
from simulators.hall.net import free_port
from simulators.hall.panel import Panel
from simulators.hall.stack import start_hall, start_terminal
from tests.support.kioskapi import token_headers
from tests.support.wait import wait_until as wait_until  # the hall tests import it from here

# ``kiosk …`` under the interpreter running the tests (no dependence on PATH or the entry-point script).
KIOSK_SIM = [sys.executable, "-c", "import sys; from simulators.cli import main; sys.exit(main())"]


def require_chromium() -> None:
    """Skips a browser test on a machine without Debian's chromium (./run-tests installs it)."""
    from simulators.hall.screen import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children of each of its threads, recursively)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def post_json(url: str, body: dict, timeout: float = 15.0) -> tuple[int, Any]:
    # The terminal wants its page token on every POST (the control panel ignores it).
    base = url.split("/api/", 1)[0] + "/"
    headers = token_headers(base) if "/api/act" not in url else {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class EventStream:
    """The terminal's SSE stream read in a thread; ``wait(predicate)`` returns the first matching event."""

    def __init__(self, base_url: str) -> None:
        host_port = base_url.split("//", 1)[1].rstrip("/")
        host, port = host_port.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.request("GET", "/api/events")
        self.response = self.conn.getresponse()
        self.events: queue.Queue[dict] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("data: "):
                    self.events.put(json.loads(line[6:]))
        except (OSError, ValueError, http.client.HTTPException):
            return

    def wait(self, predicate: Callable[[dict], bool], timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching event on the terminal's stream")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(event):
                return event

    def close(self) -> None:
        # Shut the socket down first: the reader thread then sees the end of the stream and returns.
        if self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)
        self.conn.close()


@pytest.fixture(scope="module")
def running_hall(tmp_path_factory) -> Iterator[HallControl]:
    """The whole hall with its terminal and control panel, shared by a module's tests."""
    hall = start_hall(tmp_path_factory.mktemp("hall"))
    panel = None
    try:
        start_terminal(hall, free_port())
        control = HallControl(hall)
        panel = Panel(control)
        panel.start()
        yield control
    finally:
        if panel is not None:
            panel.stop()
        hall.stop()
