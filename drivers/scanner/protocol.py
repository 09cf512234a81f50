"""Pure wire logic of a plain-output serial scanner (hardware/scanner.md §2, §5): bytes to payloads,
payload decoding, display escaping and duplicate suppression. No I/O and no clock: callers pass time in.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

# A QR holds at most 2,953 bytes in byte mode; the rest leaves room for a prefix, Code ID and AIM ID.
DEFAULT_MAX_LEN = 3072
DEFAULT_TERMINATORS = b"\r\n"


@dataclass(frozen=True)
class OverlongPayload:
    """More than ``limit`` bytes arrived without a terminator; they and the rest of that line are dropped."""

    limit: int


@dataclass(frozen=True)
class TruncatedPayload:
    """A partial line of ``length`` bytes was followed by silence instead of a terminator; dropped."""

    length: int


PayloadFault = OverlongPayload | TruncatedPayload
Item = bytes | OverlongPayload | TruncatedPayload


class LineAssembler:
    """Splits a scanner's byte stream into payloads ended by CR, LF or CRLF, across any read boundaries.

    ``feed`` returns payloads (``bytes``, never empty) and fault events in stream order. Empty lines are
    skipped, so CRLF — even split between two reads — never yields an extra payload. The buffer never
    holds more than ``max_len`` bytes: a longer line yields one ``OverlongPayload`` and the rest of it is
    discarded up to its terminator (or ``end_burst``), after which payloads are assembled normally.

    An idle gap is the driver's business (it owns the clock): it calls ``end_burst`` after a silence.
    With ``gap_ends_payload`` the pending bytes then form a payload (scanners without a suffix, or
    payloads that contain CR/LF when ``terminators=b""``); otherwise they are a ``TruncatedPayload``.
    """

    def __init__(self, max_len: int = DEFAULT_MAX_LEN, *, terminators: bytes = DEFAULT_TERMINATORS,
                 gap_ends_payload: bool = False) -> None:
        if max_len < 1:
            raise ValueError("max_len must be at least 1")
        if not terminators and not gap_ends_payload:
            raise ValueError("without terminators only an idle gap can end a payload: set gap_ends_payload")
        self.max_len = max_len
        self.gap_ends_payload = gap_ends_payload
        self._terminator = re.compile(b"[" + re.escape(terminators) + b"]") if terminators else None
        self._buf = bytearray()
        self._discarding = False

    @property
    def pending(self) -> int:
        """Bytes held of an unfinished line (always ≤ ``max_len``)."""
        return len(self._buf)

    @property
    def busy(self) -> bool:
        """True while a line is unfinished (held or being discarded): an idle gap then means something."""
        return bool(self._buf) or self._discarding

    def feed(self, data: bytes) -> list[Item]:
        """Payloads and faults completed by ``data``, in order."""
        out: list[Item] = []
        start, size = 0, len(data)
        while start < size:
            found = self._terminator.search(data, start) if self._terminator else None
            end = found.start() if found else size
            self._take(data[start:end], out)
            if found is None:
                break
            self._end_line(out)
            start = end + 1
        return out

    def end_burst(self) -> list[Item]:
        """Called after an idle gap: ends the unfinished line (payload or ``TruncatedPayload``) and any
        discarding, so that the next byte starts a fresh line."""
        out: list[Item] = []
        if self._buf:
            out.append(bytes(self._buf) if self.gap_ends_payload else TruncatedPayload(len(self._buf)))
        self.reset()
        return out

    def reset(self) -> None:
        """Forget everything held (e.g. after reconnecting to the port)."""
        self._buf.clear()
        self._discarding = False

    def _take(self, segment: bytes, out: list[Item]) -> None:
        if self._discarding or not segment:
            return
        if len(self._buf) + len(segment) > self.max_len:
            out.append(OverlongPayload(self.max_len))
            self._buf.clear()
            self._discarding = True
            return
        self._buf += segment

    def _end_line(self, out: list[Item]) -> None:
        if self._buf and not self._discarding:
            out.append(bytes(self._buf))
        self._buf.clear()
        self._discarding = False


class TextEncoding(StrEnum):
    """Which decoding of a payload's bytes worked (scanner.md §5: UTF-8, then GB18030, then hex)."""

    UTF8 = "utf-8"
    GB18030 = "gb18030"  # a superset of GBK and GB2312
    HEX = "hex"


@dataclass(frozen=True)
class DecodedPayload:
    text: str
    encoding: TextEncoding


def decode_payload(raw: bytes) -> DecodedPayload:
    """Text of a payload: strict UTF-8 (ASCII included), else strict GB18030, else lower-case hex.

    Never raises. The raw bytes stay with the caller; this only chooses how to show them.
    """
    for encoding in (TextEncoding.UTF8, TextEncoding.GB18030):
        try:
            return DecodedPayload(raw.decode(encoding.value, errors="strict"), encoding)
        except UnicodeDecodeError:
            pass
    return DecodedPayload(raw.hex(), TextEncoding.HEX)


_NAMED_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
# Control (Cc), format (Cf: zero-width, bidi overrides), separators (Zl, Zp), surrogates, unassigned.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def escape_for_display(text: str) -> str:
    """``text`` with every control, format or invisible-layout character written as an escape
    (``\\r``, ``\\n``, ``\\t``, ``\\x1d``, ``\\u202e``; a backslash as ``\\\\``), so that a payload can
    neither break a log line or JSON consumer's view nor reorder what a screen shows."""
    parts = []
    for ch in text:
        named = _NAMED_ESCAPES.get(ch)
        if named is not None:
            parts.append(named)
        elif unicodedata.category(ch) in _ESCAPED_CATEGORIES:
            code = ord(ch)
            parts.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                         else f"\\U{code:08x}")
        else:
            parts.append(ch)
    return "".join(parts)


class DuplicateFilter:
    """Suppresses a payload seen again within ``window`` seconds of its previous sighting.

    The window slides: a code held under a continuous-mode scanner counts once however long it is
    held, and counts again only after it has been away for ``window`` seconds. ``window <= 0`` disables.
    At most ``capacity`` distinct recent payloads are remembered, so memory stays bounded.
    """

    def __init__(self, window: float, capacity: int = 16) -> None:
        self.window = window
        self.capacity = capacity
        self._last_seen: dict[bytes, float] = {}

    def is_duplicate(self, raw: bytes, now: float) -> bool:
        """True if ``raw`` was seen less than ``window`` seconds before ``now``; records the sighting."""
        if self.window <= 0:
            return False
        for key in [k for k, t in self._last_seen.items() if now - t >= self.window]:
            del self._last_seen[key]
        previous = self._last_seen.pop(raw, None)
        self._last_seen[raw] = now  # re-inserted last: dict order is recency order
        while len(self._last_seen) > self.capacity:
            del self._last_seen[next(iter(self._last_seen))]
        return previous is not None

    def clear(self) -> None:
        self._last_seen.clear()
