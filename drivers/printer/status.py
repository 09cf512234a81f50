"""Pure decoding of what a printer sends back: DLE EOT 1–4 replies, the GS r paper reply and 4-byte
automatic status back (ASB), with the fixed-bit checks of escpos.md §1 and §6. Replies may arrive
unsolicited at any time (stray DLE EOT inside raster data), so a stream decoder classifies each byte."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Paper(str, enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"


class Cover(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reported. ``error`` is None or a short English code: ``autocutter``,
    ``mechanical``, ``unrecoverable``, ``recoverable`` (e.g. head too hot), ``error``."""

    online: bool
    paper: Paper
    cover: Cover
    error: str | None = None

    def to_dict(self) -> dict:
        return {"online": self.online, "paper": self.paper.value, "cover": self.cover.value,
                "error": self.error}


class StatusFormatError(ValueError):
    """A byte that cannot be the reply it was taken for (fixed bits wrong)."""


def is_dle_eot_reply(b: int) -> bool:
    """Fixed bits of every DLE EOT reply: bits 1 and 4 set, bits 0 and 7 clear."""
    return b & 0x93 == 0x12


def is_asb_first(b: int) -> bool:
    """First ASB byte: bits 0, 1, 7 clear and bit 4 set (never a DLE EOT reply, whose bit 1 is set)."""
    return b & 0x93 == 0x10


def is_gs_r_reply(b: int) -> bool:
    """GS r and ASB bytes 2–4: bits 4 and 7 clear."""
    return b & 0x90 == 0


@dataclass(frozen=True)
class StatusBits:
    """The four DLE EOT replies, decoded. Absent replies count as 'no problem seen'."""

    printer: int = 0x12
    offline_cause: int = 0x12
    error_cause: int = 0x12
    paper: int = 0x12

    def decode(self) -> PrinterStatus:
        """Raises StatusFormatError when a reply breaks the fixed bits."""
        for name in ("printer", "offline_cause", "error_cause", "paper"):
            if not is_dle_eot_reply(getattr(self, name)):
                raise StatusFormatError(f"bad DLE EOT reply for {name}: {getattr(self, name):#04x}")
        offline = bool(self.printer & 0x08)
        cover = Cover.OPEN if self.offline_cause & 0x04 else Cover.CLOSED
        paper = paper_from_dle_eot4(self.paper)
        if self.offline_cause & 0x20:
            paper = Paper.OUT
        return PrinterStatus(online=not offline, paper=paper, cover=cover,
                             error=error_from_dle_eot3(self.error_cause) or
                             ("error" if self.offline_cause & 0x40 else None))


def paper_from_dle_eot4(b: int) -> Paper:
    """n = 4: bits 5+6 paper end (0x72 = out), bits 2+3 near end (0x1E)."""
    if b & 0x60:
        return Paper.OUT
    if b & 0x0C:
        return Paper.NEAR_END
    return Paper.OK


def error_from_dle_eot3(b: int) -> str | None:
    if b & 0x08:
        return "autocutter"
    if b & 0x20:
        return "unrecoverable"
    if b & 0x04:
        return "mechanical"
    if b & 0x40:
        return "recoverable"
    return None


def paper_from_gs_r(b: int) -> Paper:
    """GS r 1 reply: bits 0–1 near end (0x03), bits 2–3 paper end (0x0C). Raises StatusFormatError."""
    if not is_gs_r_reply(b):
        raise StatusFormatError(f"bad GS r reply {b:#04x}")
    if b & 0x0C:
        return Paper.OUT
    if b & 0x03:
        return Paper.NEAR_END
    return Paper.OK


@dataclass(frozen=True)
class Asb:
    """One 4-byte automatic status back frame."""

    raw: bytes

    def decode(self) -> PrinterStatus:
        """Raises StatusFormatError when the fixed bits are wrong."""
        b1, b2, b3, b4 = self.raw
        if not is_asb_first(b1) or any(b & 0x90 for b in (b2, b3, b4)):
            raise StatusFormatError(f"bad ASB {self.raw.hex()}")
        paper = Paper.OUT if b3 & 0x0C else Paper.NEAR_END if b3 & 0x03 else Paper.OK
        error = ("autocutter" if b2 & 0x08 else "unrecoverable" if b2 & 0x20 else
                 "mechanical" if b2 & 0x04 else "recoverable" if b2 & 0x40 else None)
        return PrinterStatus(online=not b1 & 0x08, paper=paper,
                             cover=Cover.OPEN if b1 & 0x20 else Cover.CLOSED, error=error)


@dataclass(frozen=True)
class DleEotReply:
    value: int


@dataclass(frozen=True)
class GsrReply:
    value: int


@dataclass(frozen=True)
class Noise:
    value: int


Event = DleEotReply | GsrReply | Asb | Noise


class StatusStream:
    """Classifies the bytes a printer sends, in any chunking: an ASB frame starts with a byte matching
    ``b & 0x93 == 0x10`` and takes the next three; a DLE EOT reply matches ``0x12``; a byte with bits
    4 and 7 clear outside a frame is a GS r reply; anything else is noise (line garbage)."""

    def __init__(self) -> None:
        self._frame = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for b in data:
            if self._frame:
                if b & 0x90 == 0:
                    self._frame.append(b)
                    if len(self._frame) == 4:
                        events.append(Asb(bytes(self._frame)))
                        self._frame.clear()
                    continue
                # Not a real frame: what we held was noise; the new byte starts afresh.
                events.extend(Noise(x) for x in self._frame)
                self._frame.clear()
            if is_asb_first(b):
                self._frame.append(b)
            elif is_dle_eot_reply(b):
                events.append(DleEotReply(b))
            elif is_gs_r_reply(b):
                events.append(GsrReply(b))
            else:
                events.append(Noise(b))
        return events
