"""The simulated reader's own frame codec, written from the hardware document (never from ``drivers``):
it splits the host's byte stream into commands, reports malformed host frames, and builds reply frames."""
from __future__ import annotations

from dataclasses import dataclass

SYNC = bytes((0xAA, 0xAA, 0xAA, 0x96, 0x69))
# Host commands are 3 or 4 bytes after Len; anything far longer is a corrupted length field.
LONGEST_COMMAND = 32

# SW3 values the reader sends (hardware doc §4).
SW_OK = 0x90
SW_FOUND = 0x9F
SW_EMPTY = 0x91
SW_HOST_CHECKSUM = 0x10
SW_HOST_LENGTH = 0x11
SW_BAD_COMMAND = 0x21
SW_READ_FAILED = 0x41
SW_SAM_SELF_TEST = 0x60
SW_SAM_NOT_AUTHORISED = 0x66
SW_NO_CARD = 0x80
SW_SELECT_FAILED = 0x81


def xor_all(data: bytes) -> int:
    out = 0
    for value in data:
        out ^= value
    return out


def reply_frame(sw3: int, payload: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """``AA AA AA 96 69`` · Len · SW1 SW2 SW3 · payload · CHK, with Len counting SW1 … CHK."""
    size = len(payload) + 4
    body = bytes((size >> 8, size & 0xFF, sw1, sw2, sw3)) + payload
    return SYNC + body + bytes((xor_all(body),))


@dataclass(frozen=True)
class HostCommand:
    """A well-formed host frame: CMD, PARA, optional DATA, and its size on the wire."""

    cmd: int
    para: int
    data: bytes
    wire_size: int


@dataclass(frozen=True)
class HostFrameError:
    """A host frame the reader rejects: SW3 10 (checksum) or 11 (length)."""

    sw3: int
    wire_size: int


Incoming = HostCommand | HostFrameError


class CommandSplitter:
    """Incremental splitter of the host stream. Bytes before ``SYNC`` are ignored; a partial frame idle for
    longer than the UART's frame timeout is dropped by ``expire`` so that it cannot swallow the next command."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def expire(self) -> None:
        self._pending.clear()

    @property
    def partial(self) -> bool:
        return bool(self._pending)

    def push(self, data: bytes) -> list[Incoming]:
        self._pending.extend(data)
        found: list[Incoming] = []
        while True:
            start = self._pending.find(SYNC)
            if start < 0:
                # Keep only what could still become the start of a SYNC.
                tail = 0
                for n in (4, 3, 2, 1):
                    if len(self._pending) >= n and self._pending[-n:] == SYNC[:n]:
                        tail = n
                        break
                del self._pending[:len(self._pending) - tail]
                return found
            del self._pending[:start]
            if len(self._pending) < 7:
                return found
            size = (self._pending[5] << 8) | self._pending[6]
            if size < 3 or size > LONGEST_COMMAND:
                found.append(HostFrameError(SW_HOST_LENGTH, 7))
                del self._pending[:7]
                continue
            if len(self._pending) < 7 + size:
                return found
            frame = bytes(self._pending[:7 + size])
            del self._pending[:7 + size]
            if xor_all(frame[5:-1]) != frame[-1]:
                found.append(HostFrameError(SW_HOST_CHECKSUM, len(frame)))
            else:
                found.append(HostCommand(frame[7], frame[8], frame[9:-1], len(frame)))
