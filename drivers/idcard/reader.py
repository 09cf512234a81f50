"""``IdCardReader``: the SAM reader over a pyserial URL (pty path, ``/dev/serial/by-id/…``, ``socket://``):
one command at a time, replies read length-driven against ``time.monotonic()`` deadlines.

Timeouts follow the open drivers (hardware doc §10): find and select 1 s, read 3 s, other commands 5 s.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial

from drivers.idcard import protocol
from drivers.idcard.errors import CardRemoved, HostFrameRejected, IdCardError, LinkLost, NoCard, ProtocolError
from drivers.idcard.identity import Identity, identity_from_reply
from drivers.idcard.protocol import Command, FrameParser, Reply, Sw3

log = logging.getLogger("drivers.idcard")

FIND_TIMEOUT = 1.0
SELECT_TIMEOUT = 1.0
READ_TIMEOUT = 3.0
COMMAND_TIMEOUT = 5.0
FIND_POLL = 0.5

try:  # a vanished pty raises termios.error (not an OSError) from the flush before a command
    import termios
    _PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # pragma: no cover - non-POSIX
    _PORT_ERRORS = (serial.SerialException, OSError)


class IdCardReader:
    """One reader. Not thread-safe by design: a single owner (the CLI or ``CardWatcher``) drives it.

    ``url_or_port`` is a pyserial URL or an already-open ``serial.Serial``-like object (then it is not closed
    by ``close``)."""

    def __init__(self, url_or_port: str | serial.SerialBase, baudrate: int = 115200, *,
                 find_timeout: float = FIND_TIMEOUT, select_timeout: float = SELECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, command_timeout: float = COMMAND_TIMEOUT) -> None:
        self._url = url_or_port if isinstance(url_or_port, str) else None
        self._port: serial.SerialBase | None = None if isinstance(url_or_port, str) else url_or_port
        self._owns_port = self._url is not None
        self.baudrate = baudrate
        self.find_timeout = find_timeout
        self.select_timeout = select_timeout
        self.read_timeout = read_timeout
        self.command_timeout = command_timeout
        self._parser = FrameParser()
        self._stop = threading.Event()
        self.bytes_sent = 0
        self.bytes_received = 0

    # -- port ---------------------------------------------------------------------------------------------
    def open(self) -> IdCardReader:
        """Open the port; raises LinkLost when it does not exist or cannot be opened."""
        if self._port is not None and self._port.is_open:
            return self
        if self._url is None:
            raise LinkLost("the port handed to the reader is closed")
        try:
            self._port = serial.serial_for_url(self._url, baudrate=self.baudrate, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkLost(f"cannot open reader port: {exc}") from None
        self._stop.clear()
        return self

    def close(self) -> None:
        """Close the port (only if the reader opened it). Interrupts a ``read_card`` waiting for a card."""
        self._stop.set()
        port, self._port = self._port, None
        if port is not None and self._owns_port:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    @property
    def parser(self) -> FrameParser:
        """The reply parser, for its diagnostic counters (frames, errors, checksum_errors, noise_bytes)."""
        return self._parser

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def __enter__(self) -> IdCardReader:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lost(self, reason: str) -> LinkLost:
        self.close()
        return LinkLost(reason)

    # -- one exchange -------------------------------------------------------------------------------------
    def transact(self, frame: bytes, timeout: float, fits: Callable[[Reply], bool] | None = None) -> Reply:
        """Send one command frame and return its checksum-verified reply (any SW3). Replies for which ``fits``
        is false (late or duplicated answers to an earlier command) are skipped.

        Raises LinkLost when the port fails or nothing at all arrives before the deadline, ProtocolError when
        bytes arrived but no fitting valid frame (noise only, truncated, bad CHK or Len, stray replies)."""
        port = self._port
        if port is None or not port.is_open:
            raise LinkLost("reader port is not open")
        deadline = time.monotonic() + timeout
        errors_before = self._parser.errors
        try:
            port.reset_input_buffer()  # a late reply to an earlier command must not answer this one
            self._parser.reset()
            port.write(frame)
            self.bytes_sent += len(frame)
            received = stray = 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                port.timeout = remaining
                # Read exactly what completes the header or the frame in progress, never past its end.
                chunk = port.read(self._parser.wanted())
                if not chunk:
                    continue
                received += len(chunk)
                for reply in self._parser.feed(chunk):
                    if fits is None or fits(reply):
                        self.bytes_received += received
                        return reply
                    stray += 1
        except _PORT_ERRORS as exc:
            raise self._lost(f"reader port failed: {exc}") from None
        self.bytes_received += received
        if received == 0:
            raise LinkLost(f"no reply within {timeout:.1f} s")
        if stray:
            raise ProtocolError(f"{stray} reply frame(s) that do not answer this command within {timeout:.1f} s")
        bad = self._parser.errors - errors_before
        if bad:
            raise ProtocolError(f"{bad} corrupt reply frame(s) (checksum or length) within {timeout:.1f} s")
        if self._parser.buffered:
            raise ProtocolError(f"truncated reply: {self._parser.buffered} bytes of a frame by the deadline")
        raise ProtocolError(f"{received} bytes of noise and no reply frame within {timeout:.1f} s")

    def command(self, command: Command, timeout: float | None = None) -> Reply:
        """One fixed command; raises the error its SW3 means (see ``protocol.error_for``)."""
        started = time.monotonic()
        reply = self.transact(protocol.build_command(command), self.command_timeout if timeout is None else timeout,
                              lambda r: protocol.reply_fits(command, r))
        # Only the status, the length and the time: never the data (personal) nor the frame.
        log.debug("idcard %s: SW3 %02X, %d data bytes, %.1f ms", command.name, reply.sw3, len(reply.data),
                  (time.monotonic() - started) * 1000)
        error = protocol.error_for(reply, command.name.lower())
        if error is not None:
            raise error
        return reply

    # -- card sequence ------------------------------------------------------------------------------------
    def find_card(self) -> None:
        """Find (20 01). Raises NoCard when no new card is in the field (also after a read, until it leaves)."""
        reply = self.command(Command.FIND_CARD, self.find_timeout)
        if reply.sw3 != Sw3.FIND_OK:
            raise ProtocolError(f"find answered SW3 {reply.sw3:02X} instead of 9F")

    def select_card(self) -> bytes:
        """Select (20 02); returns the 8-byte serial number. Raises CardRemoved (SW3 81) when the card is gone."""
        reply = self.command(Command.SELECT_CARD, self.select_timeout)
        if len(reply.data) != 8:
            raise ProtocolError(f"select reply has {len(reply.data)} data bytes, expected 8")
        return reply.data

    def read_selected(self) -> Identity:
        """Read text + photo (30 01) of the selected card. Raises CardRemoved (41), ProtocolError for a bad
        frame or layout, InvalidIdentity when the data fails its checks (never a wrong identity)."""
        return identity_from_reply(self.command(Command.READ_TEXT_PHOTO, self.read_timeout))

    def read_card(self, timeout: float = 0.0) -> Identity:
        """Find → select → read. Waits up to ``timeout`` seconds for a card, polling find every 0.5 s; a card
        removed mid-sequence restarts the wait while time remains.

        Raises NoCard (none in time), CardRemoved (left during the last attempt), CardFault, SamFault,
        LinkLost, ProtocolError."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            started = time.monotonic()
            try:
                self.find_card()
                self.select_card()
                return self.read_selected()
            except (NoCard, CardRemoved):
                if time.monotonic() >= deadline:
                    raise
            # A poll interval, not a wait for data: interruptible by close().
            pause = min(FIND_POLL - (time.monotonic() - started), deadline - time.monotonic())
            if pause > 0 and self._stop.wait(pause):
                raise NoCard("reader closed while waiting for a card")

    # -- reader management --------------------------------------------------------------------------------
    def card_still_present(self) -> bool:
        """True while the card read last is still in the field: a select answers 90 for a card in the field
        even after it was read, and 81 once it has left. Raises SamFault, LinkLost, ProtocolError."""
        try:
            self.select_card()
        except CardRemoved:
            return False
        return True

    def reset_sam(self) -> None:
        """Reset the SAM (10 FF): clears a SAM fault state."""
        self.command(Command.RESET_SAM)

    def sam_status(self) -> None:
        """SAM status (11 FF); raises SamFault when the SAM reports a fault."""
        self.command(Command.SAM_STATUS)

    def read_sam_id(self) -> str:
        """The SAM's printed identifier (12 FF)."""
        return protocol.format_sam_id(self.command(Command.READ_SAM_ID).data)

    def read_appended_address(self) -> str | None:
        """The appended address (30 03) of the selected card, or None when the card has none (SW3 91)."""
        command = Command.READ_APPENDED_ADDRESS
        reply = self.transact(protocol.build_command(command), self.read_timeout,
                              lambda r: protocol.reply_fits(command, r))
        if reply.sw3 == Sw3.ITEM_EMPTY:
            return None
        error = protocol.error_for(reply, "read appended address")
        if error is not None:
            raise error
        return protocol.decode_appended_address(reply.data)

    def set_baud(self, baud: int) -> None:
        """Switch reader and port to ``baud``. Whether the reader answers at the old or the new rate is not
        documented, so the answer is awaited at the old rate and the link is then confirmed at the new one
        with a SAM status; raises ValueError for an unsupported rate, IdCardError when it cannot be confirmed."""
        frame = protocol.set_baud_command(baud)
        try:
            reply = self.transact(frame, self.select_timeout, lambda r: protocol.reply_fits(None, r))
            error = protocol.error_for(reply, "set baud")
            if error is not None:
                raise error
        except HostFrameRejected:
            raise
        except (ProtocolError, LinkLost) as exc:
            if not self.is_open:
                raise
            log.info("set baud: no clean answer at the old rate (%s); trying the new rate", exc.code)
        assert self._port is not None
        self._port.baudrate = baud
        self.baudrate = baud
        self.sam_status()

    def send_raw(self, frame: bytes, timeout: float = COMMAND_TIMEOUT) -> Reply:
        """A technician's escape hatch: any frame, its reply unchecked beyond CHK."""
        return self.transact(frame, timeout)


def describe_error(exc: IdCardError) -> str:
    """One line for a technician: the stable code and the English message (no personal data in either)."""
    return f"{exc.code}: {exc}"
