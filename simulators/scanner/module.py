"""What a plain-output scanner module puts on the wire for one read: the symbol's text in the
module's output encoding followed by the configured suffix ("tail"), plus the faults a test needs."""
from __future__ import annotations

import random
from enum import Enum

SUFFIXES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "NONE": b""}
ENCODINGS = ("utf-8", "gbk")
# Bytes a garbage burst may contain: anything except a line end, so that it is truly unterminated.
_GARBAGE_BYTES = bytes(b for b in range(256) if b not in (0x0A, 0x0D))


class Suffix(Enum):
    CR = "CR"
    LF = "LF"
    CRLF = "CRLF"
    NONE = "NONE"

    @property
    def wire(self) -> bytes:
        return SUFFIXES[self.value]


class ScannerModule:
    """Builds the bytes of reads. ``encoding`` is the module's output encoding option (GBK or UTF-8);
    text that the encoding cannot carry is refused, as the module would fail to transcode it."""

    def __init__(self, suffix: Suffix = Suffix.CR, encoding: str = "utf-8", seed: int | None = None) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}")
        self.suffix = suffix
        self.encoding = encoding
        self._rng = random.Random(seed)

    def read_text(self, text: str) -> bytes:
        """The wire bytes of a read of ``text``. Raises ValueError if the encoding cannot carry it."""
        try:
            body = text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise ValueError(f"text cannot be sent in {self.encoding}: {exc.reason}") from exc
        return body + self.suffix.wire

    def read_raw(self, hex_text: str) -> bytes:
        """Raw payload bytes given as hex (binary symbols, embedded CR/LF/NUL) plus the suffix.
        Raises ValueError for bad hex."""
        return bytes.fromhex(hex_text) + self.suffix.wire

    def garbage(self, count: int) -> bytes:
        """``count`` random bytes without any CR or LF and without a suffix (noise, baud mismatch)."""
        if count < 0:
            raise ValueError("garbage count must not be negative")
        return bytes(self._rng.choice(_GARBAGE_BYTES) for _ in range(count))
