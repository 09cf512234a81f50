"""Frames of the ID-card reader's SAM serial protocol (GA 467 family): command builders, an incremental
length-driven reply parser that resynchronises after noise, and SW3 status decoding. Pure: no I/O, no clock.

Frame: ``AA AA AA 96 69`` · Len (2 bytes, big-endian, counts CMD/SW1 … CHK) · body · CHK (XOR of Len … last
body byte). A reply whose checksum or length is wrong is counted in ``FrameParser.errors`` and never returned.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

from drivers.idcard.errors import (
    CardFault,
    CardRemoved,
    HostFrameRejected,
    IdCardError,
    NoCard,
    ProtocolError,
    SamFault,
)

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
HEADER_SIZE = len(PREAMBLE) + 2
# The longest documented reply is read-with-fingerprint (2,321 bytes): Len = 2,314. A larger Len can only be
# noise that happens to follow a preamble, so it is rejected instead of swallowing the next real frame.
MAX_REPLY_LEN = 2321 - HEADER_SIZE
MIN_REPLY_LEN = 4  # SW1 SW2 SW3 CHK

TEXT_SIZE = 256
PHOTO_SIZE = 1024


class Command(enum.Enum):
    """Host → reader commands as (CMD, PARA)."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    READ_SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_APPENDED_ADDRESS = (0x30, 0x03)
    READ_WITH_FINGERPRINT = (0x30, 0x10)


class Sw3(enum.IntEnum):
    """The reply's status byte (SW3)."""

    OK = 0x90
    FIND_OK = 0x9F
    ITEM_EMPTY = 0x91
    HOST_CHECKSUM = 0x10
    HOST_LENGTH = 0x11
    BAD_COMMAND = 0x21
    UNAUTHORISED = 0x23
    UNKNOWN_ERROR = 0x24
    CARD_AUTH_FAILED = 0x31
    SAM_AUTH_FAILED = 0x32
    VERIFY_FAILED = 0x33
    UNKNOWN_CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_TEST_FAILED = 0x60
    SAM_NOT_AUTHORISED = 0x66
    NO_CARD = 0x80
    SELECT_FAILED = 0x81


# Code for the set-baud command's parameter byte.
BAUD_CODES = {115200: 0x00, 57600: 0x01, 38400: 0x02, 19200: 0x03, 9600: 0x04}

_ERRORS: dict[int, type[IdCardError]] = {
    Sw3.NO_CARD: NoCard,
    Sw3.SELECT_FAILED: CardRemoved,
    Sw3.READ_FAILED: CardRemoved,
    Sw3.CARD_AUTH_FAILED: CardFault,
    Sw3.SAM_AUTH_FAILED: CardFault,
    Sw3.VERIFY_FAILED: CardFault,
    Sw3.UNKNOWN_CARD_TYPE: CardFault,
    Sw3.RANDOM_FAILED: CardFault,
    Sw3.SAM_SELF_TEST_FAILED: SamFault,
    Sw3.SAM_NOT_AUTHORISED: SamFault,
    Sw3.UNAUTHORISED: SamFault,
    Sw3.UNKNOWN_ERROR: SamFault,
    Sw3.HOST_CHECKSUM: HostFrameRejected,
    Sw3.HOST_LENGTH: HostFrameRejected,
    Sw3.BAD_COMMAND: HostFrameRejected,
}


def checksum(data: bytes) -> int:
    """XOR of every byte (the caller passes Len1 … last body byte). Folds the bytes as one integer, halving its
    width each step: about ten times faster than a byte loop on a 1,295-byte read reply."""
    value = int.from_bytes(data, "little")
    width = len(data)
    while width > 1:
        half = (width + 1) // 2
        value = (value & ((1 << (8 * half)) - 1)) ^ (value >> (8 * half))
        width = half
    return value


def build_frame(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A complete host frame for CMD PARA [DATA]."""
    length = 2 + len(data) + 1
    head = struct.pack(">H", length) + bytes((cmd, para)) + data
    return PREAMBLE + head + bytes((checksum(head),))


def build_command(command: Command, data: bytes = b"") -> bytes:
    """The frame of one fixed command."""
    cmd, para = command.value
    return build_frame(cmd, para, data)


def set_baud_command(baud: int) -> bytes:
    """``60 nn``; raises ValueError for a baud rate the reader does not offer."""
    try:
        return build_frame(0x60, BAUD_CODES[baud])
    except KeyError:
        raise ValueError(f"unsupported baud rate {baud}; choose one of {sorted(BAUD_CODES)}") from None


def set_max_rf_frame_command() -> bytes:
    """``61 FF 50``: the maximum RF frame size that one open driver sends once at start-up."""
    return build_frame(0x61, 0xFF, b"\x50")


@dataclass(frozen=True)
class Reply:
    """One checksum-verified reply frame. ``data`` excludes SW1-SW3 and CHK."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = field(repr=False)  # may hold personal data: kept out of repr

    @property
    def status(self) -> Sw3 | None:
        """The SW3 as an enum, or None for a code the documentation does not list."""
        try:
            return Sw3(self.sw3)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return self.sw3 in (Sw3.OK, Sw3.FIND_OK)

    def __repr__(self) -> str:
        return f"Reply(sw=0x{self.sw1:02X}{self.sw2:02X}{self.sw3:02X}, data_len={len(self.data)})"


def error_for(reply: Reply, context: str = "") -> IdCardError | None:
    """The exception a failed reply means, or None when SW3 says OK/found. Branches on SW3 only, because
    with 31, 41, 47 and 81 the reader may put the card's APDU status into SW1 SW2."""
    if reply.ok:
        return None
    status = reply.status
    where = f" ({context})" if context else ""
    name = status.name if status is not None else "undocumented"
    message = f"reader answered SW3 {reply.sw3:02X} {name}{where}"
    cls = _ERRORS.get(reply.sw3, ProtocolError)
    return cls(message)


# SW3 any command may get (host frame, SAM and card-authentication errors) ...
_ANY_COMMAND = frozenset({0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x47, 0x60, 0x66})
# ... and the SW3 → data length (None: any) that only answers to one command.
_ANSWERS: dict[Command, dict[int, int | None]] = {
    Command.RESET_SAM: {0x90: 0},
    Command.SAM_STATUS: {0x90: 0},
    Command.READ_SAM_ID: {0x90: 16},
    Command.FIND_CARD: {0x9F: 4, 0x80: 0},
    Command.SELECT_CARD: {0x90: 8, 0x81: 0},
    Command.READ_TEXT_PHOTO: {0x90: 4 + TEXT_SIZE + PHOTO_SIZE, 0x41: 0},
    Command.READ_APPENDED_ADDRESS: {0x90: 70, 0x91: 0, 0x41: 0},
    Command.READ_WITH_FINGERPRINT: {0x90: None, 0x41: 0},
}


def reply_fits(command: Command | None, reply: Reply) -> bool:
    """Whether ``reply`` can be the answer to ``command`` (None: a setting such as set-baud, answered by a
    bare 90). A frame that cannot (a duplicate or late reply to an earlier command) must be skipped, not taken
    as this command's answer."""
    if reply.sw3 in _ANY_COMMAND:
        return True
    sizes = _ANSWERS[command] if command is not None else {0x90: 0}
    if reply.sw3 not in sizes:
        return False
    size = sizes[reply.sw3]
    return size is None or len(reply.data) == size


def encode_reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reply frame, for tests and tools (the simulator keeps its own codec)."""
    length = 3 + len(data) + 1
    head = struct.pack(">H", length) + bytes((sw1, sw2, sw3)) + data
    return PREAMBLE + head + bytes((checksum(head),))


class FrameParser:
    """Incremental reply parser. ``feed`` never raises: bytes before a preamble are dropped (``noise_bytes``),
    a frame with an impossible Len or a wrong CHK is counted in ``errors`` and the hunt restarts one byte after
    its preamble, so that a real frame hidden behind a stray partial one is still found."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.errors = 0
        self.checksum_errors = 0
        self.length_errors = 0
        self.noise_bytes = 0
        self.frames = 0

    def reset(self) -> None:
        """Forget buffered bytes (counters stay)."""
        self._buf.clear()

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf)

    def wanted(self) -> int:
        """How many more bytes complete the header or the frame in progress: reading exactly this many never
        reads past the end of the current frame."""
        if len(self._buf) < HEADER_SIZE:
            return HEADER_SIZE - len(self._buf)
        length = (self._buf[5] << 8) | self._buf[6]
        return max(1, HEADER_SIZE + length - len(self._buf))

    def feed(self, data: bytes) -> list[Reply]:
        """Add bytes; return the replies they completed, oldest first."""
        self._buf += data
        replies: list[Reply] = []
        while True:
            if not self._hunt():
                return replies
            if len(self._buf) < HEADER_SIZE:
                return replies
            length = (self._buf[5] << 8) | self._buf[6]
            if length < MIN_REPLY_LEN or length > MAX_REPLY_LEN:
                self._reject(length_error=True)
                continue
            end = HEADER_SIZE + length
            if len(self._buf) < end:
                return replies
            frame = bytes(self._buf[len(PREAMBLE):end])  # Len1 … CHK
            if checksum(frame[:-1]) != frame[-1]:
                self._reject(length_error=False)
                continue
            del self._buf[:end]
            self.frames += 1
            replies.append(Reply(frame[2], frame[3], frame[4], frame[5:-1]))

    def _hunt(self) -> bool:
        """Drop bytes before the first preamble; keep a trailing partial preamble. True when a frame starts
        at offset 0."""
        index = self._buf.find(PREAMBLE)
        if index == 0:
            return True
        if index > 0:
            self.noise_bytes += index
            del self._buf[:index]
            return True
        keep = 0
        for size in range(min(len(PREAMBLE) - 1, len(self._buf)), 0, -1):
            if self._buf.endswith(PREAMBLE[:size]):
                keep = size
                break
        dropped = len(self._buf) - keep
        if dropped:
            self.noise_bytes += dropped
            del self._buf[:dropped]
        return False

    def _reject(self, *, length_error: bool) -> None:
        self.errors += 1
        if length_error:
            self.length_errors += 1
        else:
            self.checksum_errors += 1
        self.noise_bytes += 1
        del self._buf[:1]  # resynchronise: a real preamble may start inside the rejected frame


@dataclass(frozen=True)
class CardRecord:
    """The parts of a 30 01 / 30 10 reply: 256-byte text block, opaque photo, opaque fingerprint."""

    text: bytes = field(repr=False)
    photo: bytes = field(repr=False)
    fingerprint: bytes = field(repr=False, default=b"")


def parse_card_record(data: bytes, with_fingerprint: bool = False) -> CardRecord:
    """Split a read reply's data by its big-endian length fields; raises ProtocolError when they do not add up."""
    head = 6 if with_fingerprint else 4
    if len(data) < head:
        raise ProtocolError(f"read reply too short: {len(data)} bytes")
    text_len, photo_len = struct.unpack(">HH", data[:4])
    finger_len = struct.unpack(">H", data[4:6])[0] if with_fingerprint else 0
    if text_len != TEXT_SIZE:
        raise ProtocolError(f"read reply text length {text_len}, expected {TEXT_SIZE}")
    if photo_len != PHOTO_SIZE:
        raise ProtocolError(f"read reply photo length {photo_len}, expected {PHOTO_SIZE}")
    if len(data) != head + text_len + photo_len + finger_len:
        raise ProtocolError(f"read reply has {len(data)} data bytes, lengths say "
                            f"{head + text_len + photo_len + finger_len}")
    text = data[head:head + text_len]
    photo = data[head + text_len:head + text_len + photo_len]
    return CardRecord(text, photo, data[head + text_len + photo_len:])


def format_sam_id(data: bytes) -> str:
    """SAM ID as printed on the module: ``%02X.%02X-%u-%010u-%010u`` (bytes 0 and 2, three little-endian
    u32 at offsets 4, 8, 12). Raises ProtocolError when the data is not 16 bytes."""
    if len(data) != 16:
        raise ProtocolError(f"SAM ID reply has {len(data)} data bytes, expected 16")
    a, b, c = struct.unpack("<III", data[4:16])
    return f"{data[0]:02X}.{data[2]:02X}-{a}-{b:010d}-{c:010d}"


def decode_appended_address(data: bytes) -> str:
    """The 70-byte UCS-2LE appended address (追加地址) without padding."""
    return data.decode("utf-16-le", errors="replace").rstrip(" \x00")
