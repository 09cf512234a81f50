"""The wire end of every device simulator: a pseudo-terminal or a TCP listener, paced writes at a
baud rate, the ready line and the stdin command loop.

Simulators are independent of ``drivers``: this module only moves bytes and never interprets them.
"""
from __future__ import annotations

import json
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import tty
from collections.abc import Callable


class LinkClosed(Exception):
    """The host side went away (pty EIO, TCP peer closed) and no new host has connected yet."""


class Link:
    """One end of a serial-like byte stream. ``port`` is what a host opens (pty path or pyserial URL)."""

    port: str

    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Up to ``max_bytes`` bytes, or b"" after ``timeout`` seconds without data."""
        raise NotImplementedError

    def write_raw(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class PtyLink(Link):
    """A pseudo-terminal pair. The simulator keeps its own slave fd open so that reading the master
    does not fail with EIO before the host has opened the port, and so that a host may reopen it."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # raw before any host opens it: no echo, no CR mapping, no IXON
        self.port = os.ttyname(self._slave)
        self._closed = False

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            raise LinkClosed("pty closed")
        ready, _, _ = select.select([self._master], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            return os.read(self._master, max_bytes)
        except OSError as exc:  # EIO: no slave open (cannot happen while we hold ours, kept for safety)
            raise LinkClosed(str(exc)) from exc

    def write_raw(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self._master], [], 5.0)
            if not ready:
                raise LinkClosed("pty write blocked for 5 s: host not reading")
            n = os.write(self._master, view)
            view = view[n:]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass


class TcpLink(Link):
    """A TCP listener that serves one host at a time (as a serial-to-Ethernet adapter or a 9100 port
    does). A host that disconnects is replaced by the next one that connects."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, port))
        self._server.listen(4)
        bound_host, bound_port = self._server.getsockname()[:2]
        self.port = f"socket://{bound_host}:{bound_port}"
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def _accept(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._server], [], [], max(0.0, timeout))
        if not ready:
            return False
        conn, _ = self._server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._conn = conn
        return True

    def _drop(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            raise LinkClosed("listener closed")
        deadline = time.monotonic() + timeout
        if self._conn is None and not self._accept(timeout):
            return b""
        conn = self._conn
        if conn is None:
            return b""
        ready, _, _ = select.select([conn], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return b""
        try:
            data = conn.recv(max_bytes)
        except OSError:
            data = b""
        if not data:
            self._drop()
            raise LinkClosed("host closed the connection")
        return data

    def write_raw(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            raise LinkClosed("no host connected")
        try:
            conn.sendall(data)
        except OSError as exc:
            self._drop()
            raise LinkClosed(str(exc)) from exc

    def close(self) -> None:
        self._closed = True
        self._drop()
        self._server.close()


def open_link(spec: str) -> Link:
    """``pty`` or ``tcp:HOST:PORT`` (PORT 0 picks a free one). Only loopback makes sense in tests."""
    if spec == "pty":
        return PtyLink()
    if spec.startswith("tcp:"):
        host, _, port = spec[4:].rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"bad link {spec!r}: expected pty or tcp:HOST:PORT")
        return TcpLink(host, int(port))
    raise ValueError(f"bad link {spec!r}: expected pty or tcp:HOST:PORT")


class Pacer:
    """Writes at a serial line's byte rate (8N1: 10 bits per byte) in small fragments, on an absolute
    schedule so that the total time equals the wire time however the OS rounds each sleep."""

    def __init__(self, link: Link, baud: int = 115200, time_scale: float = 1.0,
                 fragment: int = 0, seed: int | None = None) -> None:
        self.link = link
        self.baud = baud
        self.time_scale = time_scale
        self.fragment = fragment  # 0: about 2 ms of bytes per write; N: random 1..N byte fragments
        self._rng = random.Random(seed)

    def byte_time(self) -> float:
        return 10.0 / self.baud / self.time_scale if self.baud > 0 and self.time_scale > 0 else 0.0

    def write(self, data: bytes) -> None:
        per_byte = self.byte_time()
        if per_byte == 0.0:
            self.link.write_raw(data)
            return
        start = time.monotonic()
        sent = 0
        default_chunk = max(1, int(0.002 / per_byte))
        while sent < len(data):
            size = self._rng.randint(1, self.fragment) if self.fragment else default_chunk
            chunk = data[sent:sent + size]
            due = start + (sent + len(chunk)) * per_byte
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.link.write_raw(chunk)
            sent += len(chunk)


def print_ready(device: str, port: str, **extra: object) -> None:
    """The one JSON line a harness waits for before it opens the port."""
    print(json.dumps({"device": device, "port": port, **extra}, ensure_ascii=False), flush=True)


def emit(obj: dict) -> None:
    """A further JSON line on stdout (state changes a harness may assert on)."""
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def catch_sigterm() -> list[int]:
    """Installs a SIGTERM handler that takes no lock (the hall's parent-death signal, systemd, kill): the
    returned list gets the signal when it comes. ``Event.set()`` inside a handler can deadlock against the
    main thread's own ``Event.wait()``, which holds the event's lock for a moment as it wakes — and a dying
    hall sends both the signal and the end of input (which sets the event) at the same moment."""
    caught: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: caught.append(signum))
    return caught


def wait_until_stopped(stop: threading.Event, caught: list[int] | None = None, poll_s: float = 0.2) -> None:
    """Blocks the main thread until ``stop`` is set (``quit``, end of input) or SIGTERM was caught (by
    ``caught``, else by a handler installed now), then sets ``stop``."""
    caught = catch_sigterm() if caught is None else caught
    while not caught and not stop.wait(poll_s):
        pass
    stop.set()


def run_stdin_commands(handle: Callable[[str, str], str | None], stop: threading.Event) -> threading.Thread:
    """Reads commands from stdin in a daemon thread. ``handle(name, rest_of_line)`` returns an error text or
    None. ``quit`` and end of input set ``stop``; errors go to stderr and never end the simulator."""

    def loop() -> None:
        for raw in sys.stdin:
            line = raw.strip()
            if not line:
                continue
            name, _, rest = line.partition(" ")
            if name == "quit":
                break
            try:
                error = handle(name, rest)
            except Exception as exc:  # a bad command must not kill the device
                error = f"{type(exc).__name__}: {exc}"
            if error:
                print(f"error: {error}", file=sys.stderr, flush=True)
        stop.set()

    thread = threading.Thread(target=loop, name="stdin-commands", daemon=True)
    thread.start()
    return thread
