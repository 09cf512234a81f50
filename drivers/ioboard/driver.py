"""The IO board driver: opens the board by pyserial URL (or takes an open port), does the handshake,
sends acknowledged commands with retries, acknowledges and delivers the board's events, sends
heartbeats, and reconnects by itself when the port disappears or the board restarts."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from drivers.ioboard import protocol as p
from drivers.ioboard.errors import (
    CommandRejected,
    CommandTimeout,
    HandshakeFailed,
    IoBoardError,
    NotConnected,
    ProtocolError,
    VersionMismatch,
)
from drivers.ioboard.events import EVENT_NAMES, SETTINGS, BoardInfo, IoEvent
from drivers.ioboard.fwupdate import FirmwareCommands
from drivers.ports import can_cancel_read, cancel_read

log = logging.getLogger(__name__)

FRAME_GAP_S = 0.1
READ_TICK_S = 0.05   # port timeout while a frame is half read or the handshake runs
# Port timeout while the session is up and nothing is half read, on a port whose read cannot be
# cancelled (socket://): the board's own frames wake the reader, so a short tick would only wake a
# resting terminal ~20 times a second. A port that can be cancelled (close, request_handshake) waits
# for the board's silence limit instead: its heartbeats alone then wake the reader.
IDLE_READ_S = 1.0
# Same seq and payload within this long of the previous copy = a repeat. Seq alone is not enough:
# it wraps after 256 frames, and two genuine events may then share one.
EVENT_REPEAT_WINDOW_S = 5.0


class _SessionLost(Exception):
    """The board forgot our session (restarted, or silent): handshake again on the same port."""


class IoBoard(FirmwareCommands):
    """``IoBoard(url_or_port, on_event)``; ``open()`` connects (raises HandshakeFailed, VersionMismatch,
    NotConnected), then a reader thread keeps the link: it reconnects after a loss and restores the
    settings and the last light. ``on_event(IoEvent)`` runs on a separate thread, so it may call the
    board's commands. Commands raise NotConnected, CommandTimeout or CommandRejected. Firmware updates:
    ``update_firmware`` and its companions (fwupdate.FirmwareCommands)."""

    def __init__(self, url_or_port: Any, on_event: Callable[[IoEvent], None] | None = None, *,
                 baudrate: int = 115200, heartbeat_interval: float | None = None,
                 settings: dict[str, float] | None = None, ack_timeout: float = 0.3, attempts: int = 3,
                 handshake_timeout: float = 1.5, reconnect_interval: float = 0.5,
                 silence_timeout: float | None = None) -> None:
        self._url = url_or_port if isinstance(url_or_port, str) else None
        self._given_port = None if self._url else url_or_port
        self._port: Any = None
        self.on_event = on_event
        self.baudrate = baudrate
        self.heartbeat_interval = heartbeat_interval
        self.settings = dict(settings or {})
        for name in self.settings:
            if name not in SETTINGS:
                raise ValueError(f"unknown IO board setting {name!r}")
        self.ack_timeout, self.attempts = ack_timeout, attempts
        self.handshake_timeout, self.reconnect_interval = handshake_timeout, reconnect_interval
        board_hb = self.settings.get("board_heartbeat", 2.0)
        self.silence_timeout = silence_timeout or 3 * board_hb + 1.0
        self.info: BoardInfo | None = None
        self.last_status: p.BoardStatus | None = None
        self._decoder = p.FrameDecoder()
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._cmd_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: int | None = None
        self._reply: p.Frame | None = None
        self._last_event: tuple[int, bytes, float] | None = None  # seq, payload, when last received
        self._last_byte = self._last_rx = 0.0  # monotonic times of the last byte / last whole frame
        self._light: tuple[p.Color, p.Pattern] | None = None
        self._connected = threading.Event()   # handshake done
        self._ready = threading.Event()       # handshake done and settings restored
        self._resync = threading.Event()      # someone needs a new handshake (the board restarted)
        self._sessions = 0
        self._stop = threading.Event()
        self._jobs: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._was_up = False
        self._heartbeats_on = True
        self.last_error: IoBoardError | None = None

    # ---- life cycle ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def running(self) -> bool:
        """True while every background thread lives (the board itself may be away)."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def start(self) -> None:
        """Starts the background threads without waiting: the board may come later."""
        if self._threads:
            return
        self._stop.clear()
        targets = [(self._reader, "ioboard-reader"), (self._dispatcher, "ioboard-events")]
        if self.heartbeat_interval:
            targets.append((self._heartbeater, "ioboard-heartbeat"))
        for target, name in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def open(self, timeout: float = 5.0) -> IoBoard:
        """Connects and waits for the handshake; on failure stops again and raises the reason."""
        self.start()
        if not self._ready.wait(timeout):
            error = self.last_error or NotConnected(f"IO board not answering on {self._url or 'port'}")
            self.close()
            raise error
        return self

    def close(self) -> None:
        self._stop.set()
        self._cancel_read()
        self._jobs.put(("stop", None))
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5)
        self._threads = []
        self._drop_port()
        self._connected.clear()
        self._ready.clear()

    def __enter__(self) -> IoBoard:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- commands -----------------------------------------------------------------------------

    def set_light(self, color: p.Color | str, pattern: p.Pattern | str = "steady") -> None:
        """Raises ValueError for an unknown colour or pattern name."""
        c, pat = _as_enum(p.Color, color), _as_enum(p.Pattern, pattern)
        # Remembered first: if the board is away now, it gets the light the terminal wants when it returns.
        self._light = (c, pat)
        self._command(p.FrameType.SET_LIGHT, bytes([c, pat]))

    def buzz(self, pattern: p.BuzzPattern | str = "short") -> None:
        self._command(p.FrameType.BUZZ, bytes([_as_enum(p.BuzzPattern, pattern)]))

    def configure(self, **seconds: float) -> None:
        """Sets watchdog and timing settings (seconds); they are sent again after every reconnection."""
        frame = self._config_frame(seconds)
        self._command(p.FrameType.CONFIG, frame)
        self.settings.update(seconds)

    def status(self) -> p.BoardStatus:
        reply = self._command(p.FrameType.GET_STATUS, b"")
        status = p.parse_status(reply.payload[1:])
        self.last_status = status
        return status

    def heartbeat(self) -> None:
        """Tells the board the Pi is healthy (not acknowledged). Raises NotConnected."""
        if not self._connected.is_set():
            raise NotConnected("IO board not connected")
        self._write(p.heartbeat(self._next_seq()))

    def enable_heartbeats(self, enabled: bool) -> None:
        """Pauses or resumes the heartbeat thread (send them only while the application is healthy)."""
        self._heartbeats_on = enabled

    @staticmethod
    def _config_frame(seconds: dict[str, float]) -> bytes:
        unknown = set(seconds) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown IO board settings {sorted(unknown)}")
        return p.config_payload({SETTINGS[k]: round(v * 1000) for k, v in seconds.items()})

    def request(self, ftype: p.FrameType, payload: bytes = b"", *, attempts: int | None = None) -> p.Frame:
        """One acknowledged command as it is on the wire, for the driver's own modules (firmware updates):
        the ACK, or CommandRejected for a NAK (NO_SESSION included: no handshake and repeat here).
        ``attempts`` (each ``ack_timeout`` long) gives a slow step more time without answering later."""
        return self._command(ftype, payload, retry_session=False, attempts=attempts)

    @property
    def sessions(self) -> int:
        """Handshakes completed since start: a new one means the board (or the link) started over."""
        return self._sessions

    def request_handshake(self) -> None:
        """Asks the reader for a new handshake at once (the board went silent: it may have restarted)."""
        self._resync.set()
        self._cancel_read()

    def _cancel_read(self) -> None:
        """Ends a blocking read of the reader thread early (see ``IDLE_READ_S``)."""
        cancel_read(self._port)

    def wait_session(self, after: int, timeout: float) -> BoardInfo | None:
        """The board's identity once a handshake later than the ``after``-th is done and the settings
        are restored; None when none came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while not (self._sessions > after and self._ready.is_set() and self.info is not None):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stop.is_set():
                return None
            self._ready.wait(min(0.05, remaining))
            if self._ready.is_set() and self._sessions <= after:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.info

    def _command(self, ftype: p.FrameType, payload: bytes, *, retry_session: bool = True,
                 attempts: int | None = None) -> p.Frame:
        with self._cmd_lock:
            reply = self._exchange(ftype, payload, attempts or self.attempts)
        if reply.type == p.FrameType.ACK:
            return reply
        _, reason = p.parse_nak(reply.payload)
        if reason == p.NakReason.NO_SESSION and retry_session:
            # The board restarted: the reader does the handshake again; then repeat once.
            if threading.current_thread().name != "ioboard-events" and self._ready.wait(self.handshake_timeout * 2):
                return self._command(ftype, payload, retry_session=False)
            raise NotConnected("IO board restarted; handshake pending")
        raise CommandRejected(f"IO board refused {ftype.name}: reason {reason}", reason=reason)

    def _exchange(self, ftype: p.FrameType, payload: bytes, attempts: int) -> p.Frame:
        if not self._connected.is_set():
            raise NotConnected("IO board not connected")
        seq = self._next_seq()
        frame = p.encode_frame(ftype, seq, payload)
        with self._cond:
            self._pending, self._reply = seq, None
        try:
            for _ in range(attempts):
                self._write(frame)  # a repeat keeps its seq: the board answers it without acting twice
                deadline = time.monotonic() + self.ack_timeout
                with self._cond:
                    while self._reply is None and self._connected.is_set():
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self._cond.wait(remaining)
                    if self._reply is not None:
                        return self._reply
                if not self._connected.is_set():
                    raise NotConnected("IO board lost during command")
            raise CommandTimeout(f"IO board did not acknowledge {ftype.name} after {attempts} attempts")
        finally:
            with self._cond:
                self._pending = None

    def _next_seq(self) -> int:
        with self._seq_lock:
            seq, self._seq = self._seq, (self._seq + 1) & 0xFF
            return seq

    def _write(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise NotConnected("IO board port closed")
        try:
            with self._write_lock:
                port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise NotConnected(f"IO board write failed: {exc}") from exc

    # ---- reader thread ------------------------------------------------------------------------

    def _reader(self) -> None:
        while not self._stop.is_set():
            try:
                if self._port is None:
                    self._port = self._open_port()
                if not self._connected.is_set():
                    self._handshake()
                self._pump()
            except _SessionLost as exc:
                self._lost(str(exc), close_port=False)
            except (serial.SerialException, OSError, IoBoardError) as exc:
                # Reopen the port too: a half-dead port (USB re-enumerated, TCP half-open) only heals so.
                self.last_error = exc if isinstance(exc, IoBoardError) else NotConnected(f"IO board port: {exc}")
                self._lost(str(exc), close_port=True)
                self._stop.wait(self.reconnect_interval)
            except Exception as exc:  # a defect here must not silently end the reader for good
                log.exception("IO board reader failed")
                self.last_error = IoBoardError(f"reader failed: {exc!r}")
                self._lost(repr(exc), close_port=True)
                self._stop.wait(self.reconnect_interval)

    def _open_port(self) -> Any:
        if self._given_port is not None:
            return self._given_port
        return serial.serial_for_url(self._url, baudrate=self.baudrate, timeout=READ_TICK_S)

    def _read_frames(self) -> list[p.Frame]:
        port = self._port
        idle = self._connected.is_set() and not self._decoder.pending and not self._resync.is_set()
        wanted = (self.silence_timeout if can_cancel_read(port) else IDLE_READ_S) if idle else READ_TICK_S
        if port.timeout != wanted and self._given_port is None:  # a port handed in keeps its own timeout
            port.timeout = wanted
        data = port.read(max(1, port.in_waiting))
        if data:
            self._last_byte = time.monotonic()
            frames = self._decoder.feed(data)
            if frames:
                self._last_rx = self._last_byte
            return frames
        if self._decoder.pending and time.monotonic() - self._last_byte >= FRAME_GAP_S:
            frames = self._decoder.expire()
            if frames:
                self._last_rx = time.monotonic()
            return frames
        return []

    def _handshake(self) -> None:
        """Raises HandshakeFailed or VersionMismatch; frames after WELCOME are kept for the pump."""
        self._decoder = p.FrameDecoder()
        with self._seq_lock:
            self._seq = 0
        self._last_byte = time.monotonic()
        per_try = self.handshake_timeout / max(1, self.attempts)
        for _ in range(self.attempts):
            seq = self._next_seq()
            with self._write_lock:
                self._port.write(p.hello(seq))
            deadline = time.monotonic() + per_try
            while time.monotonic() < deadline and not self._stop.is_set():
                frames = self._read_frames()
                for i, frame in enumerate(frames):
                    if frame.type == p.FrameType.NAK and frame.payload[:1] == bytes([seq]):
                        raise VersionMismatch("IO board does not speak protocol version 1")
                    if frame.type == p.FrameType.WELCOME and frame.payload[1:2] == bytes([seq]):
                        welcome = p.parse_welcome(frame.payload)
                        if welcome.protocol_version != p.PROTOCOL_VERSION:
                            raise VersionMismatch(f"IO board answered version {welcome.protocol_version}")
                        self._session_started(welcome, frames[i + 1:])
                        return
        raise HandshakeFailed("IO board did not answer HELLO")

    def _session_started(self, welcome: p.Welcome, backlog: list[p.Frame]) -> None:
        self.info = BoardInfo(welcome.protocol_version, welcome.firmware_version)
        self.last_status = welcome.status
        self._last_event = None  # a new session may repeat the event in flight; deliver it
        self._last_rx = time.monotonic()
        self.last_error = None
        self._resync.clear()  # this handshake is the one asked for
        self._sessions += 1
        self._connected.set()
        self._jobs.put(("restore", welcome.status))
        for frame in backlog:
            self._handle(frame)

    def _pump(self) -> None:
        if self._stop.is_set():  # close() came while the port was reopened: nobody cancels a long read
            return
        if self._resync.is_set():
            raise _SessionLost("a new handshake was asked for")
        for frame in self._read_frames():
            self._handle(frame)
        if time.monotonic() - self._last_rx > self.silence_timeout:
            raise _SessionLost(f"no frame from the IO board for {self.silence_timeout:.1f} s")

    def _handle(self, frame: p.Frame) -> None:
        try:
            self._dispatch_frame(frame)
        except ProtocolError as exc:  # a well-framed but malformed payload: drop it, keep the link
            log.warning("IO board sent a malformed %s frame: %s", frame.type, exc)

    def _dispatch_frame(self, frame: p.Frame) -> None:
        ftype = frame.type
        if ftype in (p.FrameType.ACK, p.FrameType.NAK) and frame.payload:
            self._wake_waiter(frame)
            if ftype == p.FrameType.NAK and frame.payload[1:2] == bytes([p.NakReason.NO_SESSION]):
                raise _SessionLost("IO board has no session (it restarted)")
        elif ftype == p.FrameType.EVENT:
            # ACK first, even a kind we do not know, or the board would repeat it for ever.
            self._write(p.ack(self._next_seq(), frame.seq))
            now = time.monotonic()
            last = self._last_event
            if last is not None and last[:2] == (frame.seq, frame.payload) and now - last[2] < EVENT_REPEAT_WINDOW_S:
                self._last_event = (frame.seq, frame.payload, now)
                return  # a repeat whose ACK was lost is not news
            self._last_event = (frame.seq, frame.payload, now)
            data = p.parse_event(frame.payload)
            name, values = EVENT_NAMES[data.kind]
            self._jobs.put(("event", IoEvent(name, values.get(data.value, str(data.value)))))
        elif ftype == p.FrameType.HEARTBEAT:
            status = p.parse_status(frame.payload)
            if not status.same_state(self.last_status):
                self._jobs.put(("event", IoEvent("board_status", status=status)))
            self.last_status = status

    def _wake_waiter(self, frame: p.Frame) -> None:
        with self._cond:
            if self._pending is not None and frame.payload[0] == self._pending:
                self._reply = frame
                self._cond.notify_all()

    def _lost(self, reason: str, close_port: bool) -> None:
        was_ready = self._ready.is_set()
        self._connected.clear()
        self._ready.clear()
        with self._cond:
            self._cond.notify_all()
        if close_port:
            self._drop_port()
        if was_ready:
            log.warning("IO board lost: %s", reason)
            self._jobs.put(("event", IoEvent("board_lost", reason)))

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        if port is not None and self._given_port is None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    # ---- event and heartbeat threads ---------------------------------------------------------

    def _dispatcher(self) -> None:
        while True:
            job, arg = self._jobs.get()
            if job == "stop":
                return
            if job == "event":
                self._deliver(arg)
            elif job == "restore":
                self._restore(arg)

    def _restore(self, status: p.BoardStatus) -> None:
        """Sends the settings and the last light again (the board keeps them in RAM only)."""
        try:
            if self.settings:
                self._command(p.FrameType.CONFIG, self._config_frame(self.settings), retry_session=False)
            if self._light is not None:
                self._command(p.FrameType.SET_LIGHT, bytes(self._light), retry_session=False)
        except IoBoardError as exc:
            log.warning("IO board settings not restored: %s", exc)
            return  # the reader notices the loss and starts over
        self._ready.set()
        if self._was_up:
            log.info("IO board back, firmware %s", self.info.firmware_version if self.info else "?")
            self._deliver(IoEvent("board_back", self.info.firmware_version if self.info else None))
        self._was_up = True
        self._deliver(IoEvent("board_status", status=status))

    def _deliver(self, event: IoEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # the application's handler must not kill the driver
            log.exception("IO board event handler failed for %s", event.kind)

    def _heartbeater(self) -> None:
        interval = float(self.heartbeat_interval or 1.0)
        while not self._stop.wait(interval):
            if self._heartbeats_on and self._connected.is_set():
                try:
                    self.heartbeat()
                except NotConnected:
                    pass


def _as_enum(enum_type: Any, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return enum_type[value.upper()]
        except KeyError:
            raise ValueError(f"unknown {enum_type.__name__.lower()} {value!r}") from None
    return enum_type(value)
