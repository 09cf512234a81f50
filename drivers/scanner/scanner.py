"""The serial QR scanner driver: opens a port by pyserial URL, turns its bytes into decoded ``Scan``s,
and a watcher thread that keeps reading across unplug/replug.

Payload text is never logged: a QR can carry anything, personal data included.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import serial

from drivers.ports import can_cancel_read, cancel_read
from drivers.scanner.errors import (
    BadPayload,
    PayloadTooLong,
    PayloadTruncated,
    ScannerError,
    ScannerLost,
    ScannerUnavailable,
)
from drivers.scanner.protocol import (
    DEFAULT_MAX_LEN,
    DEFAULT_TERMINATORS,
    DuplicateFilter,
    Item,
    LineAssembler,
    OverlongPayload,
    TextEncoding,
    decode_payload,
    escape_for_display,
)

log = logging.getLogger(__name__)

# How long one blocking read may wait; read_scan returns at most this much after its deadline.
READ_TICK = 0.05
# Silence after which an unfinished line is given up (or, in gap mode, is a payload). Bytes of one
# payload follow each other within milliseconds even over USB-CDC, so a second is a safe margin.
DEFAULT_IDLE_GAP = 1.0
# One read of the watcher while nothing arrives on a port whose read stop() cannot cancel (socket://);
# a port that can be cancelled is read in waits this long (a vanished device ends the read at once).
WATCH_READ_S = 2.0
WATCH_READ_CANCELLABLE_S = 60.0


@dataclass(frozen=True)
class Scan:
    """One payload as the scanner sent it: the ``raw`` bytes and their decoded ``text`` (not escaped: use
    ``display``), with the ``encoding`` that decoded them. What the text means is for the application to
    say. The repr shows no payload content."""

    raw: bytes = field(repr=False)
    text: str = field(repr=False)
    encoding: TextEncoding

    @property
    def display(self) -> str:
        """The text with control and invisible characters escaped, safe to show or put in a log line."""
        return escape_for_display(self.text)

    def to_dict(self) -> dict[str, Any]:
        """The technician's JSON view: escaped text and which decoding worked."""
        return {"text": self.display, "encoding": self.encoding.value}


def make_scan(raw: bytes) -> Scan:
    """Decodes one payload (UTF-8, else GB18030, else a hex view)."""
    decoded = decode_payload(raw)
    return Scan(raw, decoded.text, decoded.encoding)


class Scanner:
    """A plain-output serial scanner on a pyserial URL (``/dev/serial/by-id/…``, ``socket://…``, a pty
    path) or an already-open port object (which ``close`` then leaves open).

    ``terminators``/``gap_ends_payload``/``idle_gap`` choose the framing (see ``LineAssembler``);
    ``dedup_window`` > 0 drops a payload repeated within that many seconds.
    """

    def __init__(self, url_or_port: Any, *, baudrate: int = 9600, max_len: int = DEFAULT_MAX_LEN,
                 terminators: bytes = DEFAULT_TERMINATORS, gap_ends_payload: bool = False,
                 idle_gap: float = DEFAULT_IDLE_GAP, dedup_window: float = 0.0) -> None:
        self._url = os.fspath(url_or_port) if isinstance(url_or_port, (str, os.PathLike)) else None
        self._port: Any = None if self._url is not None else url_or_port
        self._owns_port = self._url is not None
        self._opened = False
        self.baudrate = baudrate
        self.idle_gap = idle_gap
        self._assembler = LineAssembler(max_len, terminators=terminators, gap_ends_payload=gap_ends_payload)
        self._dedup = DuplicateFilter(dedup_window)
        self._pending: deque[Item] = deque()
        self._cancelled = False     # cancel_read() came: the read_scan in progress (or the next) returns
        self._last_rx = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened and bool(getattr(self._port, "is_open", True))

    def open(self) -> Scanner:
        """Opens the port (no-op if already open). Raises ScannerUnavailable if it cannot be opened."""
        if self._opened:
            return self
        if self._owns_port:
            try:
                self._port = serial.serial_for_url(self._url, baudrate=self.baudrate, timeout=READ_TICK)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise ScannerUnavailable(f"cannot open scanner port {self._url}: {exc}") from exc
        else:
            self._port.timeout = READ_TICK
        self._opened = True
        self._assembler.reset()
        self._pending.clear()
        self._last_rx = time.monotonic()
        return self

    def close(self) -> None:
        """Closes a port this driver opened (a port handed in stays open and attached); never raises."""
        self._opened = False
        if not self._owns_port:
            return
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a vanished device may fail; it is gone either way
                log.debug("scanner port close failed", exc_info=True)

    def __enter__(self) -> Scanner:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_scan(self, timeout: float) -> Scan | None:
        """The next scan within ``timeout`` seconds (overshoot ≤ READ_TICK), or None.

        Raises PayloadTooLong / PayloadTruncated (both BadPayload) for a broken payload — the next call
        goes on with the following ones; ScannerLost if the port failed (the driver is then closed);
        ScannerError if it is not open.
        """
        if not self._opened:
            raise ScannerError("scanner is not open")
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            scan = self._next_pending()
            if scan is not None:
                return scan
            now = time.monotonic()
            if now >= deadline:
                return None
            # Nothing half read: block until the deadline in one read (a resting terminal sleeps);
            # a started line needs the short tick to notice its idle gap.
            wait = READ_TICK if self._assembler.busy else max(READ_TICK, deadline - now)
            data = self._read_some(wait)
            now = time.monotonic()
            if data:
                self._last_rx = now
                self._pending.extend(self._assembler.feed(data))
            elif self._assembler.busy and now - self._last_rx >= self.idle_gap:
                self._pending.extend(self._assembler.end_burst())
            if self._cancelled:
                # Cancelling ends one port read; without this, read_scan would read on to its deadline
                # (a watcher's minute) and outlive the stop() that cancelled it.
                self._cancelled = False
                return self._next_pending()

    def _next_pending(self) -> Scan | None:
        while self._pending:
            item = self._pending.popleft()
            if isinstance(item, OverlongPayload):
                raise PayloadTooLong(f"payload longer than {item.limit} bytes without a terminator; dropped")
            if not isinstance(item, bytes):
                raise PayloadTruncated(f"{item.length} bytes without a terminator, then silence; dropped")
            if not self._dedup.is_duplicate(item, time.monotonic()):
                return make_scan(item)
        return None

    def cancel_read(self) -> None:
        """Ends a blocking ``read_scan`` early (another thread stops the reader); where the port can."""
        self._cancelled = True
        cancel_read(self._port)

    @property
    def watch_read_s(self) -> float:
        """How long a watcher may block in one ``read_scan`` and still stop promptly."""
        return WATCH_READ_CANCELLABLE_S if can_cancel_read(self._port) else WATCH_READ_S

    def _read_some(self, wait: float) -> bytes:
        port = self._port
        try:
            if port.timeout is None or abs(port.timeout - wait) > 0.01:
                port.timeout = wait
            first = port.read(1)  # blocks up to ``wait``
            if not first:
                return b""
            waiting = port.in_waiting
            return first + (port.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise ScannerLost(f"scanner port failed: {exc}") from exc


class ScannerState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class ScannerWatcher:
    """Reads scans in a thread and calls ``on_scan(Scan)`` for each one not repeated within
    ``dedup_window`` seconds. Reopens the port every ``retry_interval`` seconds while it is missing;
    ``on_state(ScannerState)`` is called on every change (first call: the initial state). The loss and
    the return are logged once each. ``on_error(BadPayload)`` hears about broken payloads.
    Callback exceptions are logged and never stop the watcher.
    """

    def __init__(self, url: str, on_scan: Callable[[Scan], None],
                 on_state: Callable[[ScannerState], None] | None = None, *,
                 on_error: Callable[[BadPayload], None] | None = None, dedup_window: float = 1.5,
                 retry_interval: float = 1.0, **scanner_options: Any) -> None:
        self.url = url
        self._on_scan = on_scan
        self._on_state = on_state
        self._on_error = on_error
        self._dedup = DuplicateFilter(dedup_window)  # here, so it survives a reconnect
        self._retry_interval = retry_interval
        self._scanner_options = scanner_options
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scanner: Scanner | None = None
        self.state: ScannerState | None = None

    def start(self) -> ScannerWatcher:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="scanner-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        scanner = self._scanner
        if scanner is not None:
            scanner.cancel_read()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():  # stop() from a callback
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the reading thread lives (started and not stopped, and not ended by a fault)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def __enter__(self) -> ScannerWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        scanner: Scanner | None = None
        try:
            while not self._stop.is_set():
                if scanner is None:
                    scanner = self._scanner = self._try_open()
                    if scanner is None:
                        self._stop.wait(self._retry_interval)
                        continue
                    if self._stop.is_set():  # stop() came before _scanner was set: nobody cancels the read
                        break
                try:
                    scan = scanner.read_scan(timeout=scanner.watch_read_s)
                except BadPayload as exc:
                    log.warning("scanner: %s", exc)
                    self._call(self._on_error, exc)
                    continue
                except ScannerError as exc:
                    scanner.close()
                    scanner = None
                    self._set_state(ScannerState.OFFLINE, str(exc))
                    continue
                if scan is not None and not self._dedup.is_duplicate(scan.raw, time.monotonic()):
                    self._call(self._on_scan, scan)
        finally:
            if scanner is not None:
                scanner.close()

    def _try_open(self) -> Scanner | None:
        scanner = Scanner(self.url, **self._scanner_options)
        try:
            scanner.open()
        except ScannerUnavailable as exc:
            self._set_state(ScannerState.OFFLINE, str(exc))
            return None
        self._set_state(ScannerState.ONLINE, "")
        return scanner

    def _set_state(self, state: ScannerState, detail: str) -> None:
        previous, self.state = self.state, state
        if state is previous:
            return
        if state is ScannerState.OFFLINE:
            log.warning("scanner %s at %s: %s", "lost" if previous else "not available", self.url, detail)
        elif previous is ScannerState.OFFLINE:
            log.warning("scanner back at %s", self.url)
        else:
            log.info("scanner online at %s", self.url)
        self._call(self._on_state, state)

    @staticmethod
    def _call(callback: Callable[[Any], None] | None, arg: Any) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception:
            log.exception("scanner watcher callback failed")
