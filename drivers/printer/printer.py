"""The printer driver: opens a port by pyserial URL (serial device, pty, ``socket://host:9100``),
checks status before a job, sends the rendered job in buffer-sized pieces and reports it printed only
after the printer's own confirmation (GS r reply, with ASB or DLE EOT polling to catch faults)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import serial

from drivers.printer import escpos
from drivers.printer.document import Document
from drivers.printer.errors import CoverOpen, PaperOut, PrinterError, PrinterFault, PrinterOffline, PrintTimeout
from drivers.printer.profile import GENERIC_80, PrinterProfile
from drivers.printer.status import (
    Asb,
    Cover,
    DleEotReply,
    Event,
    GsrReply,
    Noise,
    Paper,
    PrinterStatus,
    StatusBits,
    StatusFormatError,
    StatusStream,
    paper_from_gs_r,
)

log = logging.getLogger(__name__)

READ_SLICE = 0.05     # s: the port's first timeout, and how far a read may end past its deadline
READ_MAX_S = 1.0      # s one read may block waiting for the printer's next byte
WRITE_TIMEOUT = 10.0  # s a single write may block (flow control held off by the printer)
POLL_INTERVAL = 0.5   # how often to ask DLE EOT 2 while waiting for GS r (no ASB)
FAULT_CONFIRMATIONS = 2  # a fault must be seen twice: a stray reply from raster data must not fail a job


@dataclass(frozen=True)
class PrintResult:
    """A job the printer confirmed. ``paper`` is the paper state it reported with the confirmation."""

    confirmed: bool
    bytes_sent: int
    pieces: int
    paper: Paper
    seconds: float


def raise_for_status(status: PrinterStatus) -> None:
    """Raises the specific PrinterError for a status that does not allow printing."""
    if status.cover is Cover.OPEN:
        raise CoverOpen("printer cover open")
    if status.paper is Paper.OUT:
        raise PaperOut("printer out of paper")
    if status.error:
        raise PrinterFault(f"printer error: {status.error}")
    if not status.online:
        raise PrinterOffline("printer reports offline")


class Printer:
    """An ESC/POS printer on ``url_or_port``: a pyserial URL or path (opened on first use, with the
    profile's baud rate and XON/XOFF setting) or an already-open serial port (its read timeout is set
    to 50 ms; it is not closed by ``close``)."""

    def __init__(self, url_or_port: Any, profile: PrinterProfile = GENERIC_80, *,
                 baudrate: int | None = None, reply_timeout: float = 1.0) -> None:
        self.profile = profile
        self.reply_timeout = reply_timeout
        self._url = url_or_port if isinstance(url_or_port, str) else None
        self._port: Any = None if isinstance(url_or_port, str) else url_or_port
        if self._port is not None:
            self._port.timeout = READ_SLICE  # reads must return so that deadlines can be kept
        self._baudrate = baudrate or profile.baudrate
        self._stream = StatusStream()
        self._events: list = []
        self._lost = False

    # --- port ----------------------------------------------------------------------------------
    @property
    def is_serial(self) -> bool:
        """True unless the port is a TCP (9100-style) socket, whose buffers make pacing unnecessary."""
        return not (self._url or "").startswith("socket://")

    def open(self) -> Printer:
        """Opens the port if needed. Raises PrinterOffline when it cannot be opened."""
        if self._port is None:
            try:
                self._port = serial.serial_for_url(self._url, baudrate=self._baudrate, timeout=READ_SLICE,
                                                   write_timeout=WRITE_TIMEOUT, xonxoff=self.profile.xonxoff)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._went(f"cannot open port: {exc}")
                raise PrinterOffline(f"cannot open printer port: {exc}") from exc
        return self

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None and self._url is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def __enter__(self) -> Printer:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _went(self, why: str) -> None:
        if not self._lost:
            log.warning("printer lost: %s", why)
            self._lost = True

    def _back(self) -> None:
        if self._lost:
            log.info("printer back")
            self._lost = False

    def _io_failed(self, exc: Exception) -> PrinterOffline:
        self._went(f"{type(exc).__name__}: {exc}")
        self.close()
        return PrinterOffline(f"printer link failed: {exc}")

    def _write(self, data: bytes, deadline: float) -> None:
        try:
            # Over a serial line with XON/XOFF the write blocks while the printer holds us off.
            if time.monotonic() >= deadline:
                raise serial.SerialTimeoutException("deadline passed")
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException as exc:
            raise PrintTimeout("printer did not take the data in time") from exc
        except (serial.SerialException, OSError) as exc:
            raise self._io_failed(exc) from exc

    def _next_event(self, deadline: float) -> Event | None:
        """The next decoded event, or None at the deadline (+50 ms). Noise bytes are skipped."""
        while True:
            if self._events:
                return self._events.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                # Block until a byte or the deadline: short read slices would wake a resting terminal
                # about ten times for every status poll.
                wait = min(remaining, READ_MAX_S)
                if abs((self._port.timeout or 0.0) - wait) > READ_SLICE:
                    self._port.timeout = wait
                waiting = getattr(self._port, "in_waiting", 0) or 1
                data = self._port.read(waiting)
            except (serial.SerialException, OSError) as exc:
                raise self._io_failed(exc) from exc
            self._events.extend(e for e in self._stream.feed(data) if not isinstance(e, Noise))

    # --- status --------------------------------------------------------------------------------
    def _dle_eot(self, n: int, deadline: float) -> int:
        self._write(escpos.dle_eot(n), deadline)
        reply_deadline = min(deadline, time.monotonic() + self.reply_timeout)
        while True:
            event = self._next_event(reply_deadline)
            if event is None:
                self._went(f"no reply to DLE EOT {n}")
                raise PrinterOffline(f"printer did not answer DLE EOT {n}")
            if isinstance(event, DleEotReply):
                return event.value

    def status(self, timeout: float = 5.0) -> PrinterStatus:
        """DLE EOT 1–4, decoded. Raises PrinterOffline when the printer does not answer."""
        self.open()
        deadline = time.monotonic() + timeout
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise self._io_failed(exc) from exc
        self._events.clear()
        bits = StatusBits(*(self._dle_eot(n, deadline) for n in (1, 2, 3, 4)))
        try:
            status = bits.decode()
        except StatusFormatError as exc:
            raise PrinterOffline(f"garbled status: {exc}") from exc
        self._back()
        return status

    # --- printing ------------------------------------------------------------------------------
    def print_document(self, doc: Document, timeout: float = 60.0) -> PrintResult:
        """Prints ``doc`` and returns only when the printer confirmed it (GS r answered).

        Raises PaperOut, CoverOpen, PrinterFault, PrinterOffline (before or during the job),
        PrintTimeout (no confirmation within ``timeout`` s), escpos.RenderError (document unfit)."""
        start = time.monotonic()
        deadline = start + timeout
        pieces = escpos.render_pieces(doc, self.profile, asb=self.profile.asb, confirm=False)
        raise_for_status(self.status(timeout=min(timeout, 5.0)))
        sent = 0
        unconfirmed = 0
        for piece in pieces:
            # Over serial, let the printer empty its buffer (GS r answers in buffer order) before a
            # piece that would overflow it; TCP printers pace us through the socket instead.
            if self.is_serial and unconfirmed and unconfirmed + len(piece) > escpos.piece_limit(self.profile):
                self._confirm(deadline)
                unconfirmed = 0
            self._write(piece, deadline)
            sent += len(piece)
            unconfirmed += len(piece)
        paper = self._confirm(deadline)
        log.info("printed %s: %d bytes", doc.title or "document", sent)
        return PrintResult(confirmed=True, bytes_sent=sent, pieces=len(pieces), paper=paper,
                           seconds=time.monotonic() - start)

    def _confirm(self, deadline: float) -> Paper:
        """Sends GS r 1 and waits for its reply; ASB frames and DLE EOT 2 polls end the wait early
        with the specific fault. Raises PaperOut, CoverOpen, PrinterFault, PrintTimeout."""
        self._write(escpos.transmit_paper_status(), deadline)
        faults: list[PrinterError] = []
        next_poll = time.monotonic() + POLL_INTERVAL
        while True:
            wait_until = deadline if self.profile.asb else min(deadline, next_poll)
            event = self._next_event(wait_until)
            if event is None:
                if time.monotonic() >= deadline:
                    raise PrintTimeout("printer did not confirm the job")
                self._write(escpos.dle_eot(2), deadline)
                next_poll = time.monotonic() + POLL_INTERVAL
                continue
            if isinstance(event, GsrReply):
                paper = paper_from_gs_r(event.value)
                if paper is Paper.OUT:
                    raise PaperOut("paper ran out during the job")
                return paper
            if isinstance(event, Asb):
                try:
                    raise_for_status(event.decode())
                except StatusFormatError:
                    continue
            elif isinstance(event, DleEotReply):
                fault = _offline_cause_fault(event.value)
                faults = faults + [fault] if fault else []
                if len(faults) >= FAULT_CONFIRMATIONS and type(faults[-1]) is type(faults[-2]):
                    raise faults[-1]


def _offline_cause_fault(b: int) -> PrinterError | None:
    """DLE EOT 2 reply → the fault it reports, or None."""
    if b & 0x04:
        return CoverOpen("cover opened during the job")
    if b & 0x20:
        return PaperOut("paper ran out during the job")
    if b & 0x40:
        return PrinterFault("printer error during the job")
    return None
