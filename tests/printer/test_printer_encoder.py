"""Byte-exact tests of the ESC/POS encoder against the vectors of escpos.md."""
from __future__ import annotations

import pytest
from PIL import Image as PILImage

from drivers.printer import (
    EPSON_ASB,
    GENERIC_58,
    GENERIC_80,
    QR,
    Align,
    Cut,
    Document,
    Feed,
    Image,
    RenderError,
    Rule,
    Text,
    escpos,
    render,
    render_pieces,
)
from drivers.printer.document import QrLevel

JOB_START = b"\x1b@" + b"\x1bt\x00" + b"\x1c&"
GS_R = b"\x1dr\x01"


def test_qr_function_vectors():
    assert escpos.qr_model2() == bytes.fromhex("1D 28 6B 04 00 31 41 32 00")
    assert escpos.qr_module_size(6) == bytes.fromhex("1D 28 6B 03 00 31 43 06")
    assert escpos.qr_error_level(QrLevel.L) == bytes.fromhex("1D 28 6B 03 00 31 45 30")
    assert escpos.qr_error_level(QrLevel.H) == bytes.fromhex("1D 28 6B 03 00 31 45 33")
    assert escpos.qr_store(b"ABC") == bytes.fromhex("1D 28 6B 06 00 31 50 30 41 42 43")  # pL = k + 3
    assert escpos.qr_print() == bytes.fromhex("1D 28 6B 03 00 31 51 30")


def test_qr_store_length_field_and_limits():
    data = b"x" * 300
    assert escpos.qr_store(data)[3:5] == bytes([303 & 0xFF, 303 >> 8])
    with pytest.raises(ValueError):
        escpos.qr_store(b"")
    with pytest.raises(ValueError):
        escpos.qr_store(b"x" * 7090)
    with pytest.raises(ValueError):
        escpos.qr_module_size(17)


def test_native_qr_overhead_is_41_bytes():
    payload = b"https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP"
    block = (escpos.qr_model2() + escpos.qr_module_size(6) + escpos.qr_error_level(QrLevel.M)
             + escpos.qr_store(payload) + escpos.qr_print())
    assert len(block) == 41 + len(payload)


def test_cut_status_and_mode_vectors():
    assert escpos.cut(partial=False) == b"\x1dV\x00"
    assert escpos.cut(partial=True) == b"\x1dV\x01"
    assert escpos.cut(partial=True, feed=3) == b"\x1dV\x42\x03"
    assert escpos.cut(partial=False, feed=0) == b"\x1dV\x41\x00"
    assert [escpos.dle_eot(n) for n in (1, 2, 3, 4)] == [b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x03",
                                                         b"\x10\x04\x04"]
    assert escpos.transmit_paper_status() == b"\x1d\x72\x01"
    assert escpos.enable_asb(0xFF) == b"\x1d\x61\xff"
    assert escpos.char_size(2, 2) == b"\x1d!\x11"
    assert escpos.hanzi_style(True, True) == b"\x1c!\x0c"
    assert escpos.align(Align.CENTER) == b"\x1ba\x01"


def test_raster_command_layout():
    assert escpos.raster(b"\xff\x00", 1, 2) == b"\x1dv0\x00\x01\x00\x02\x00\xff\x00"
    with pytest.raises(ValueError):
        escpos.raster(b"\xff", 1, 2)
    img = PILImage.new("1", (10, 2), 1)
    img.putpixel((0, 0), 0)
    img.putpixel((9, 1), 0)
    data, width_bytes, rows = escpos.to_bits(img)
    assert (data, width_bytes, rows) == (b"\x80\x00\x00\x40", 2, 2)  # MSB = leftmost dot, 1 = black


def test_small_job_byte_exact():
    doc = Document((Text("测试", align=Align.CENTER, bold=True), Text("OK"), Cut()))
    out = render(doc, GENERIC_80)
    assert out == (JOB_START + b"\x1ba\x01" + b"\x1bE\x01" + "测试".encode("gb18030") + b"\n"
                   + b"\x1ba\x00" + b"\x1bE\x00" + b"OK\n" + b"\x1dV\x42\x03" + GS_R)


def test_every_job_sets_its_modes_first():
    for profile in (GENERIC_58, GENERIC_80, EPSON_ASB):
        assert render(Document((Text("x"),)), profile).startswith(JOB_START)
    assert render(Document((Text("x"),)), EPSON_ASB, asb=True).startswith(JOB_START + b"\x1da\x0e")


def test_size_two_sets_both_ascii_and_hanzi_size_and_halves_columns():
    out = render(Document((Text("汉" * 13, size=2),)), GENERIC_58, confirm=False)
    assert b"\x1d!\x11\x1c!\x0c" in out
    # 58 mm: 32 columns, 16 at double width, so 13 Hanzi (26 columns) wrap after 8.
    assert out.count(b"\n") == 2


def test_native_qr_centred_with_esc_a():
    out = render(Document((QR("HELLO"),)), GENERIC_80, confirm=False)
    assert out == (JOB_START + b"\x1ba\x01" + escpos.qr_model2() + escpos.qr_module_size(6)
                   + escpos.qr_error_level(QrLevel.M) + escpos.qr_store(b"HELLO") + escpos.qr_print())


def test_module_size_capped_by_profile():
    out = render(Document((QR("HELLO", module=16),)), GENERIC_80.with_changes(max_qr_module=5), confirm=False)
    assert escpos.qr_module_size(5) in out


def test_qr_without_native_support_needs_an_image():
    with pytest.raises(RenderError):
        render(Document((QR("HELLO"),)), GENERIC_58)
    img = PILImage.new("1", (64, 64), 0)
    out = render(Document((QR("HELLO", image=img),)), GENERIC_58, confirm=False)
    assert b"\x1d(k" not in out
    # Made of 2×2 blocks: sent at half size in mode 3 (double width and height), between fed lines.
    assert out == (JOB_START + b"\x1ba\x01" + b"\x1bd\x01" + b"\x1dv0\x03\x04\x00\x20\x00"
                   + b"\xff" * 4 * 32 + b"\x1bd\x01")
    odd = PILImage.new("1", (9, 2), 0)
    out = render(Document((QR("HELLO", image=odd),)), GENERIC_58, confirm=False)
    assert b"\x1dv0\x00\x02\x00\x02\x00\xff\x80\xff\x80" in out


def test_raster_bands_fit_buffer_and_row_cap():
    profile = GENERIC_58.with_changes(buffer_bytes=1024, max_raster_rows=100)
    img = PILImage.new("1", (384, 500), 0)  # all black: 48 bytes of 0xFF per row
    out = b"".join(render_pieces(Document((Image(img),)), profile, confirm=False))
    per_band = (1024 - 32 - 8) // 48  # 20 rows: the buffer (less room for queries), not the 100-row cap
    headers = [i for i in range(len(out)) if out.startswith(b"\x1dv0\x00\x30\x00", i)]
    assert len(headers) == -(-500 // per_band)
    rows = [out[i + 6] | out[i + 7] << 8 for i in headers]
    assert rows[:-1] == [per_band] * (len(rows) - 1) and sum(rows) == 500
    for piece in render_pieces(Document((Image(img),)), profile, confirm=False):
        assert len(piece) <= profile.buffer_bytes
    capped = b"".join(render_pieces(Document((Image(img),)), GENERIC_58.with_changes(
        buffer_bytes=100_000, max_raster_rows=100), confirm=False))
    assert capped.count(b"\x1dv0\x00\x30\x00\x64\x00") == 5


def test_four_byte_characters_use_user_chars_and_keep_the_rest_as_text():
    # ¥ appears in the catalog sample's FAQ; 𫖮 is a real given-name character. Neither is 2-byte GB18030.
    out = render(Document((Text("申请人：张𫖮"), Text("每证¥20"))), GENERIC_80, confirm=False)
    for four in ("¥".encode("gb18030"), "𫖮".encode("gb18030")):
        assert len(four) == 4 and four not in out
    assert out.count(b"\x1c2\xfe") == 2  # two FS 2 definitions, FE A1 and FE A2
    assert "申请人：张".encode("gb18030") + b"\xfe\xa1\n" in out
    assert "每证".encode("gb18030") + b"\xfe\xa220\n" in out
    assert b"\x1dv0" not in out


def test_four_byte_fallback_without_user_chars_rasterises_only_that_line():
    out = render(Document((Text("事项：户籍"), Text("张𫖮"), Text("完"))), GENERIC_58, confirm=False)
    assert "事项：户籍".encode("gb18030") + b"\n" in out and "完".encode("gb18030") + b"\n" in out
    assert out.count(b"\x1dv0") == 1
    start = out.index(b"\x1dv0")
    width_bytes, rows = out[start + 4] | out[start + 5] << 8, out[start + 6] | out[start + 7] << 8
    assert rows == 30 and width_bytes == 6  # two 24-dot cells, 24 dots high + the 6-dot line gap
    assert "张".encode("gb18030") not in out


def test_rule_feed_and_cut_types():
    out = render(Document((Rule(), Feed(2), Cut(partial=False))), EPSON_ASB, confirm=False)
    assert out == JOB_START + b"-" * 48 + b"\n" + b"\x1bd\x02" + b"\x1dV\x41\x03"
    out58 = render(Document((Cut(partial=False),)), GENERIC_58, confirm=False)
    assert out58.endswith(b"\x1dV\x42\x03")  # partial-cut-only clone


def test_size_not_allowed_by_profile_prints_normal_size():
    profile = GENERIC_58.with_changes(sizes=(0x00,))
    out = render(Document((Text("汉" * 13, size=2),)), profile, confirm=False)
    assert b"\x1d!" not in out and out.count(b"\n") == 1


def test_more_rare_characters_than_user_slots_fall_back_to_a_band():
    profile = GENERIC_80.with_changes(user_chars=1)
    out = render(Document((Text("张𫖮"), Text("每证¥20"))), profile, confirm=False)
    assert out.count(b"\x1c2\xfe") == 1 and "张".encode("gb18030") + b"\xfe\xa1\n" in out
    assert out.count(b"\x1dv0") == 1 and "每证".encode("gb18030") not in out
