"""Pi side of the IO board link protocol (docs/ioboard-protocol.md): frame building, a resynchronising
frame decoder and the payload formats. Pure: bytes in, objects out, no I/O, no clock. Written from the
document, independently of the firmware's own codec."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from drivers.ioboard.errors import ProtocolError

START = b"\xA5\x5A"
PROTOCOL_VERSION = 1
MAX_PAYLOAD = 64
_HEADER = struct.Struct(">2sBBB")  # start, type, seq, len
_MAX_FRAME = _HEADER.size + MAX_PAYLOAD + 2


class FrameType(IntEnum):
    HELLO = 0x01
    WELCOME = 0x02
    ACK = 0x03
    NAK = 0x04
    HEARTBEAT = 0x05
    SET_LIGHT = 0x10
    BUZZ = 0x11
    CONFIG = 0x12
    GET_STATUS = 0x13
    EVENT = 0x20
    FW_BEGIN = 0x30
    FW_FILE = 0x31
    FW_DATA = 0x32
    FW_VERIFY = 0x33
    FW_COMMIT = 0x34
    FW_STATE = 0x35
    FW_CONFIRM = 0x36
    FW_ROLLBACK = 0x37


class Color(IntEnum):
    OFF = 0
    GREEN = 1
    YELLOW = 2
    RED = 3


class Pattern(IntEnum):
    OFF = 0
    STEADY = 1
    BLINK = 2
    FAST = 3


class BuzzPattern(IntEnum):
    OFF = 0
    SHORT = 1
    DOUBLE = 2
    LONG = 3
    ALARM = 4


class NakReason(IntEnum):
    BAD_VERSION = 1
    UNKNOWN_TYPE = 2
    BAD_PAYLOAD = 3
    NO_SESSION = 4
    BAD_HASH = 5
    BAD_STATE = 6
    STORAGE = 7


class EventKind(IntEnum):
    TAMPER = 1
    PRESENCE = 2
    HELP = 3
    BOOT = 4


class WatchdogState(IntEnum):
    GRACE = 0
    WATCHING = 1
    HOLDOFF = 2
    PULSING = 3


class ConfigKey(IntEnum):
    """CONFIG keys; values travel in milliseconds."""

    HEARTBEAT_TIMEOUT = 1
    BOOT_GRACE = 2
    MIN_CYCLE = 3
    RELAY_PULSE = 4
    DEBOUNCE = 5
    BOARD_HEARTBEAT = 6
    EVENT_RETRY = 7


def _crc_table() -> tuple[int, ...]:
    table = []
    for high in range(256):
        value = high << 8
        for _ in range(8):
            value = (value << 1) ^ 0x1021 if value & 0x8000 else value << 1
        table.append(value & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, MSB first, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""


def encode_frame(ftype: int, seq: int, payload: bytes = b"") -> bytes:
    """Raises ValueError for a payload over 64 bytes or a seq/type outside 0…255."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack(">BBB", ftype, seq, len(payload)) + bytes(payload)
    return START + body + struct.pack(">H", crc16_ccitt(body))


class FrameDecoder:
    """Finds frames in a byte stream. A rejected candidate (length over 64, CRC mismatch, or stale at
    ``expire``) costs one byte, so frames behind garbage or truncation are still found."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0
        self.skipped = 0

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        return self._drain(stale=False)

    def expire(self) -> list[Frame]:
        """The line is quiet: whatever is pending can no longer complete."""
        return self._drain(stale=True)

    def _reject(self) -> None:
        self.rejected += 1
        del self._buf[:1]

    def _drain(self, stale: bool) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        while buf:
            at = buf.find(START)
            if at < 0:
                # A final A5 may be half of the next start; nothing else can be.
                keep = 1 if buf[-1] == START[0] and not stale else 0
                self.skipped += len(buf) - keep
                del buf[:len(buf) - keep]
                break
            self.skipped += at
            del buf[:at]
            if len(buf) < _HEADER.size:
                if stale:
                    self._reject()
                    continue
                break
            _, ftype, seq, length = _HEADER.unpack_from(buf)
            if length > MAX_PAYLOAD:
                self._reject()
                continue
            end = _HEADER.size + length
            if len(buf) < end + 2:
                if stale:
                    self._reject()
                    continue
                break
            (crc,) = struct.unpack_from(">H", buf, end)
            if crc != crc16_ccitt(bytes(buf[2:end])):
                self._reject()
                continue
            out.append(Frame(ftype, seq, bytes(buf[_HEADER.size:end])))
            del buf[:end + 2]
        return out


# ---- payloads ----------------------------------------------------------------------------------

_STATUS = struct.Struct(">BBBBHHI")


@dataclass(frozen=True)
class BoardStatus:
    tamper_open: bool
    presence: bool
    help_held: bool
    light_color: Color
    light_pattern: Pattern
    watchdog: WatchdogState
    bad_frames: int
    power_cycles: int
    uptime_s: int

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready names, as ``kiosk-device ioboard status`` prints them."""
        return {"tamper": "open" if self.tamper_open else "closed", "presence": "on" if self.presence else "off",
                "help_held": self.help_held, "light": self.light_color.name.lower(),
                "pattern": self.light_pattern.name.lower(), "watchdog": self.watchdog.name.lower(),
                "bad_frames": self.bad_frames, "power_cycles": self.power_cycles, "uptime_s": self.uptime_s}

    def same_state(self, other: BoardStatus | None) -> bool:
        """Equal apart from the uptime (which changes every second)."""
        return other is not None and self.__dict__ | {"uptime_s": 0} == other.__dict__ | {"uptime_s": 0}


@dataclass(frozen=True)
class Welcome:
    protocol_version: int
    ref: int
    firmware_version: str
    status: BoardStatus


@dataclass(frozen=True)
class BoardEventData:
    kind: EventKind
    value: int


def _enum(enum_type, value: int, what: str):
    try:
        return enum_type(value)
    except ValueError:
        raise ProtocolError(f"unknown {what} {value}") from None


def parse_status(data: bytes) -> BoardStatus:
    """Raises ProtocolError unless ``data`` is a 12-byte STATUS block with known values."""
    if len(data) != _STATUS.size:
        raise ProtocolError(f"status of {len(data)} bytes, expected {_STATUS.size}")
    inputs, color, pattern, wd, bad, cycles, uptime = _STATUS.unpack(data)
    return BoardStatus(bool(inputs & 1), bool(inputs & 2), bool(inputs & 4), _enum(Color, color, "colour"),
                       _enum(Pattern, pattern, "pattern"), _enum(WatchdogState, wd, "watchdog state"),
                       bad, cycles, uptime)


def parse_welcome(payload: bytes) -> Welcome:
    if len(payload) != 5 + _STATUS.size:
        raise ProtocolError(f"WELCOME of {len(payload)} bytes")
    version, ref, major, minor, patch = payload[:5]
    return Welcome(version, ref, f"{major}.{minor}.{patch}", parse_status(payload[5:]))


def parse_event(payload: bytes) -> BoardEventData:
    if len(payload) != 2:
        raise ProtocolError(f"EVENT of {len(payload)} bytes")
    return BoardEventData(_enum(EventKind, payload[0], "event kind"), payload[1])


def parse_nak(payload: bytes) -> tuple[int, int]:
    """(ref, reason) of a NAK; the reason stays an int so that a newer board's reasons pass through."""
    if len(payload) != 2:
        raise ProtocolError(f"NAK of {len(payload)} bytes")
    return payload[0], payload[1]


def hello(seq: int) -> bytes:
    return encode_frame(FrameType.HELLO, seq, bytes([PROTOCOL_VERSION]))


def heartbeat(seq: int) -> bytes:
    return encode_frame(FrameType.HEARTBEAT, seq)


def ack(seq: int, ref: int) -> bytes:
    return encode_frame(FrameType.ACK, seq, bytes([ref]))


def set_light(seq: int, color: Color, pattern: Pattern) -> bytes:
    return encode_frame(FrameType.SET_LIGHT, seq, bytes([Color(color), Pattern(pattern)]))


def buzz(seq: int, pattern: BuzzPattern) -> bytes:
    return encode_frame(FrameType.BUZZ, seq, bytes([BuzzPattern(pattern)]))


def get_status(seq: int) -> bytes:
    return encode_frame(FrameType.GET_STATUS, seq)


# The board compares times within half its tick period (2**29 ms): settings stay below 2**28 ms.
MAX_SETTING_MS = 0x0FFFFFFF


def config_payload(settings_ms: dict[ConfigKey, int]) -> bytes:
    """CONFIG payload. Raises ValueError for an empty dict or a value outside 0…MAX_SETTING_MS
    (about 74.5 hours)."""
    if not settings_ms:
        raise ValueError("no settings")
    for key, value in settings_ms.items():
        if not 0 <= int(value) <= MAX_SETTING_MS:
            raise ValueError(f"{ConfigKey(key).name} = {value} ms is out of range")
    return b"".join(struct.pack(">BI", ConfigKey(key), int(value)) for key, value in settings_ms.items())


def config(seq: int, settings_ms: dict[ConfigKey, int]) -> bytes:
    return encode_frame(FrameType.CONFIG, seq, config_payload(settings_ms))
