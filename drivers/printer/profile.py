"""What one printer model can do (paper width, Hanzi font set, native QR, cut, buffer), so that the
renderer and the driver adapt to cheap clones and to Epson-like printers without special cases."""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class FontSet(enum.Enum):
    """Hanzi repertoire of the printer's built-in font (all encoded as 2-byte GB18030/GBK)."""

    GB2312 = "gb2312"
    GBK = "gbk"
    GB18030_2BYTE = "gb18030-2byte"


class CutType(enum.Enum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


@dataclass(frozen=True)
class PrinterProfile:
    """Capabilities of one printer model. ``dots`` is the printable width (384 on 58 mm, 576 on 80 mm).

    ``user_chars`` is how many FS 2 user-defined Hanzi the model keeps (0: not supported), used for
    characters its font lacks. ``buffer_bytes`` is the receive buffer: over serial the driver sends at
    most this many bytes before it lets the printer catch up. ``max_raster_rows`` caps one GS v 0 band.
    """

    name: str
    paper_mm: int = 80
    dots: int = 576
    hanzi: bool = True
    font_set: FontSet = FontSet.GB18030_2BYTE
    gb18030_4byte: bool = False
    native_qr: bool = True
    max_qr_module: int = 8
    cut: CutType = CutType.PARTIAL
    buffer_bytes: int = 4096
    max_raster_rows: int = 255
    sizes: tuple[int, ...] = (0x00, 0x01, 0x10, 0x11)
    user_chars: int = 0
    asb: bool = False
    xonxoff: bool = False
    baudrate: int = 115200

    @property
    def columns(self) -> int:
        """Font A (12×24) columns per line: 32 on 58 mm, 48 on 80 mm."""
        return self.dots // 12

    def with_changes(self, **changes) -> PrinterProfile:
        return replace(self, **changes)


GENERIC_58 = PrinterProfile(
    name="generic-58", paper_mm=58, dots=384, font_set=FontSet.GB2312, native_qr=False,
    cut=CutType.PARTIAL, buffer_bytes=1024, max_raster_rows=128, sizes=(0x00, 0x01, 0x10, 0x11),
    user_chars=0, xonxoff=True, baudrate=9600)
"""A cheap ZJ-58-class clone: GB2312 font, no native QR, partial cut only, small buffer, XON/XOFF."""

GENERIC_80 = PrinterProfile(
    name="generic-80", paper_mm=80, dots=576, font_set=FontSet.GBK, native_qr=True,
    cut=CutType.PARTIAL, buffer_bytes=4096, max_raster_rows=255, user_chars=10)
"""An 80 mm clone (HCC POS80B-like): GBK font, native QR, FS 2 user characters, 4 KB buffer."""

EPSON_ASB = PrinterProfile(
    name="epson-asb", paper_mm=80, dots=576, font_set=FontSet.GB18030_2BYTE, native_qr=True,
    cut=CutType.FULL, buffer_bytes=4096, max_raster_rows=1024,
    sizes=tuple((w << 4) | h for w in range(8) for h in range(8)), user_chars=6, asb=True, baudrate=38400)
"""An Epson TM-like printer with automatic status back (ASB) and a 2-byte GB18030 font."""

PROFILES: dict[str, PrinterProfile] = {p.name: p for p in (GENERIC_58, GENERIC_80, EPSON_ASB)}


def profile_for_paper(paper_mm: int) -> PrinterProfile:
    """The generic profile for 58 or 80 mm paper. Raises ValueError for any other width."""
    if paper_mm == 58:
        return GENERIC_58
    if paper_mm == 80:
        return GENERIC_80
    raise ValueError(f"paper width {paper_mm} mm not supported (58 or 80)")
