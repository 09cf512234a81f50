"""Several processed pages into one PDF. The pages' JPEG bytes go in unchanged (DCTDecode), so the
size budget the pipeline met still holds; Pillow's PDF writer would decode and re-encode them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PdfPage(Protocol):
    """What the writer needs of a page (``pipeline.Page`` has it)."""

    @property
    def jpeg(self) -> bytes: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def dpi(self) -> float: ...


def _colour_space(jpeg: bytes) -> bytes:
    """DeviceGray for 1-component JPEGs, DeviceRGB for 3, read from the SOF marker."""
    i = 2
    while i + 9 < len(jpeg):
        if jpeg[i] != 0xFF:
            break
        marker, length = jpeg[i + 1], int.from_bytes(jpeg[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return b"/DeviceGray" if jpeg[i + 9] == 1 else b"/DeviceRGB"
        i += 2 + length
    raise ValueError("page JPEG has no frame header")


def pages_to_pdf(pages: Sequence[PdfPage]) -> bytes:
    """One PDF 1.4 file, a page per item, each page sized to the paper (pixels ÷ dpi). The document
    carries no metadata (no title, author, producer or dates): materials are personal data.
    Raises ``ValueError`` for an empty list or a page whose bytes are not a baseline/progressive JPEG."""
    if not pages:
        raise ValueError("no pages")
    objects: list[bytes] = []  # object n is objects[n - 1]
    page_ids = [3 + 3 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % n for n in page_ids)
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    for page_id, page in zip(page_ids, pages, strict=True):
        if page.dpi <= 0:
            raise ValueError(f"page dpi {page.dpi} must be positive")
        width_pt, height_pt = page.width * 72 / page.dpi, page.height * 72 / page.dpi
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] "
                       b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
                       % (width_pt, height_pt, page_id + 1, page_id + 2))
        objects.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "
                       b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
                       % (page.width, page.height, _colour_space(page.jpeg), len(page.jpeg), page.jpeg))
        draw = b"q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(draw), draw))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
