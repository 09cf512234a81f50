"""Multi-page PDF from processed pages: a structure Pillow's PDF parser reads back, JPEGs embedded
unchanged, page size from dpi, and no metadata."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image, PdfParser

from drivers.camera import Page, pages_to_pdf, process_capture


def _page(width: int, height: int, dpi: float, mode: str = "L", shade: int = 200) -> Page:
    out = io.BytesIO()
    Image.new(mode, (width, height), shade if mode == "L" else (shade, 10, 10)).save(out, "JPEG")
    return Page(out.getvalue(), width, height, dpi, 75, 0.0, 0.05, 20000.0)


def _pages_of(pdf: bytes) -> list[dict]:
    parser = PdfParser.PdfParser(buf=pdf)
    try:
        return [parser.read_indirect(ref) for ref in parser.pages]
    finally:
        parser.close()


def test_three_pages_read_back_with_their_sizes_and_images():
    pages = [_page(1654, 2339, 200), _page(1240, 1754, 150), _page(300, 200, 100, mode="RGB")]
    pdf = pages_to_pdf(pages)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 3
    read = _pages_of(pdf)
    assert len(read) == 3
    # A4 at either dpi is 595 x 842 points; the last page is 3 x 2 inches.
    assert [round(float(v)) for v in read[0][b"MediaBox"]] == [0, 0, 595, 842]
    assert [round(float(v)) for v in read[1][b"MediaBox"]] == [0, 0, 595, 842]
    assert [round(float(v)) for v in read[2][b"MediaBox"]] == [0, 0, 216, 144]
    for page in pages:  # the JPEG bytes are embedded as they are
        assert pdf.count(page.jpeg) == 1
    assert pdf.count(b"/DeviceGray") == 2 and pdf.count(b"/DeviceRGB") == 1


def test_xref_offsets_point_at_their_objects():
    pdf = pages_to_pdf([_page(100, 140, 100), _page(100, 140, 100)])
    start = int(pdf[pdf.rindex(b"startxref") + 9:].split()[0])
    lines = pdf[start:].split(b"\n")
    assert lines[0] == b"xref"
    count = int(lines[1].split()[1])
    for number, entry in enumerate(lines[3:2 + count], start=1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_no_metadata_is_written():
    pdf = pages_to_pdf([_page(100, 140, 100)])
    for key in (b"/Info", b"/Producer", b"/Creator", b"/CreationDate", b"/Title", b"/Author"):
        assert key not in pdf


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        pages_to_pdf([])
    with pytest.raises(ValueError):
        pages_to_pdf([Page(b"not a jpeg at all", 10, 10, 100, 75, 0.0, 0.0, 0.0)])
    with pytest.raises(ValueError):
        pages_to_pdf([_page(10, 10, 0)])


def test_pipeline_pages_make_one_pdf(frame_of):
    pages = [process_capture(frame_of("page", seed)[0]) for seed in (0, 1)]
    pdf = pages_to_pdf(pages)
    assert len(_pages_of(pdf)) == 2
    assert len(pdf) < sum(page.size for page in pages) + 2_000
