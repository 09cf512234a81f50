"""The simulator's own ESC/POS interpreter: replies, drawing, warnings, python-escpos output, and
random bytes (it must never crash)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from pyzbar.pyzbar import decode

from simulators.printer.interpreter import Interpreter, PaperState

URL = "https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP"
START = b"\x1b@\x1bt\x00\x1c&"


def run_job(data: bytes, **kwargs):
    sim = Interpreter(**kwargs)
    replies = sim.feed(data)
    job = sim.completed[0] if sim.completed else sim.finish_job(silence=True)
    return sim, job, replies


def png_codes(job, tmp_path) -> list[bytes]:
    path = tmp_path / "job.png"
    job.roll.png(str(path))
    return [code.data for code in decode(PILImage.open(path))]


def test_dle_eot_replies_follow_state():
    sim = Interpreter()
    assert sim.feed(b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04") == bytes([0x12, 0x12, 0x12, 0x12])
    sim.set_cover(True)
    assert sim.feed(b"\x10\x04\x01\x10\x04\x02") == bytes([0x1A, 0x16])
    sim.set_cover(False)
    sim.set_paper(PaperState.NEAR_END)
    assert sim.feed(b"\x10\x04\x04") == bytes([0x1E])
    sim.set_paper(PaperState.OUT)
    assert sim.feed(b"\x10\x04\x02\x10\x04\x04") == bytes([0x32, 0x72])


def test_dle_eot_inside_raster_data_is_answered_and_the_image_kept(tmp_path):
    data = b"\x10\x04\x01" + b"\x00" * 5  # one 8-byte row containing a DLE EOT 1
    _sim, job, replies = run_job(START + b"\x1dv0\x00\x08\x00\x01\x00" + data + b"\x1dV\x00")
    assert replies == bytes([0x12])
    assert job.images == [{"kind": "raster", "width": 64, "height": 1}] and job.cuts == ["full"]


def test_dle_eot_split_across_chunks():
    sim = Interpreter()
    assert sim.feed(b"\x10") + sim.feed(b"\x04") + sim.feed(b"\x04") == b"\x12"


def test_gs_r_after_print_and_not_while_paper_out():
    sim = Interpreter()
    assert sim.feed(START + b"hello\n\x1dr\x01") == b"\x00"
    sim.set_paper(PaperState.NEAR_END)
    assert sim.feed(b"\x1dr\x01") == b"\x03"
    sim.set_paper(PaperState.OUT)
    assert sim.feed(b"more\n\x1dr\x01") == b""


def test_asb_on_enable_and_on_change():
    sim = Interpreter()
    assert sim.feed(b"\x1da\xff") == bytes([0x10, 0, 0, 0])
    sim.set_cover(True)
    assert sim.take_replies() == bytes([0x38, 0, 0, 0])


def test_text_hanzi_styles_and_alignment(tmp_path):
    data = (START + b"\x1ba\x01\x1bE\x01" + "受理通知书".encode("gb18030") + b"\n\x1ba\x00\x1bE\x00"
            + b"\x1d!\x11\x1c!\x0c" + "大".encode("gb18030") + b"\n" + b"\x1c.\x1bt\x00\x9c\n\x1dV\x01")
    _, job, _ = run_job(data)
    assert job.text == ["受理通知书", "大", "£"] and job.warnings == [] and job.cuts == ["partial"]


def test_without_fs_ampersand_hanzi_bytes_print_as_code_page_text():
    _, job, _ = run_job(b"\x1b@" + "张".encode("gb18030") + b"\n\x1dV\x00")
    # A printer left in PC437 prints mojibake, as real clones do when FS & is missing.
    assert job.text == ["张".encode("gb18030").decode("cp437")]


def test_four_byte_gb18030_is_a_warning():
    _, job, _ = run_job(START + "¥20".encode("gb18030") + b"\n\x1dV\x00")
    assert job.text == ["?20"]
    assert any("4-byte GB18030 81 30 84 36" in w for w in job.warnings)


def test_user_defined_char_printed():
    columns = bytes([0xFF, 0xFF, 0xFF] * 24)
    _, job, _ = run_job(START + b"\x1c2\xfe\xa1" + columns + "张".encode("gb18030") + b"\xfe\xa1\n\x1dV\x00")
    assert job.text == ["张\ufffc"] and job.user_chars == ["fea1"] and job.warnings == []


def test_native_qr_is_drawn_and_decodes(tmp_path):
    payload = URL.encode()
    data = (START + b"\x1ba\x01" + b"\x1d(k\x04\x001A2\x00" + b"\x1d(k\x03\x001C\x06" + b"\x1d(k\x03\x001E1"
            + b"\x1d(k" + bytes([len(payload) + 3, 0]) + b"1P0" + payload + b"\x1d(k\x03\x001Q0" + b"\x1dV\x00")
    _, job, _ = run_job(data)
    assert job.qr == [URL] and job.warnings == []
    assert png_codes(job, tmp_path) == [payload]


def test_paper_runs_out_after_n_mm():
    changes = []
    sim = Interpreter(paper_mm=10, on_change=lambda what, value: changes.append((what, value)))
    replies = sim.feed(START + b"line\n" * 10 + b"\x1dr\x01")
    job = sim.finish_job(silence=True)
    assert job is not None
    assert replies == b"" and sim.paper is PaperState.OUT and ("paper", "out") in changes
    assert len(job.text) == 3  # 80 dots of paper = 3 lines of 30 dots (the third runs off the end)
    assert "data past the paper end" in job.warnings


def test_unknown_and_malformed_commands_are_warnings():
    _, job, _ = run_job(START + b"\x1b\x99\x07A\n\x1dv0\x09\x01\x00\x01\x00\x00\x1dV\x00")
    assert job.text == ["A"]
    assert any("unknown command 1b 99" in w for w in job.warnings)
    assert any("unknown control byte 07" in w for w in job.warnings)
    assert any("malformed GS v 0" in w for w in job.warnings)


def test_python_escpos_output_is_understood(tmp_path):
    from escpos.printer import Dummy

    printer = Dummy()
    printer.text("Hello kiosk\n")
    printer.set(bold=True, align="center", double_height=True)
    printer.text("BIG\n")
    printer.set()
    printer.qr(URL, native=True, size=6)
    printer.qr("IMAGE-QR-PAYLOAD", size=6)
    printer.cut()
    _sim, job, _ = run_job(printer.output)
    assert job.text[:2] == ["Hello kiosk", "BIG"]
    assert job.qr == [URL]
    assert [img["kind"] for img in job.images] == ["qr", "raster"]
    assert job.cuts == ["full"] and job.warnings == []
    assert sorted(png_codes(job, tmp_path)) == sorted([URL.encode(), b"IMAGE-QR-PAYLOAD"])


FRAGMENTS = st.sampled_from([
    b"\x1dv0\x00\x02\x00\x02\x00", b"\x1d(k", b"\x1c2\xfe", b"\x10\x04", b"\x1b*\x21\x03\x00", b"\x1dV",
    b"\x1c&", b"\x81\x30", b"\xfe\xa1", b"\x1da\xff", b"\x1dr\x01", b"\x1bd\x05"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=200) | FRAGMENTS, max_size=12))
def test_random_bytes_never_crash(chunks):
    sim = Interpreter(dots=384, paper_mm=20)
    for chunk in chunks:
        assert isinstance(sim.feed(chunk), bytes)
    sim.finish_job(silence=True)
    sim.set_paper(PaperState.OK)
    sim.feed(b"\x1b@ok\n\x1dV\x00")


PRINTABLE = st.text(alphabet=st.sampled_from(list("受理通知书张三丰，。：（）·ABCxyz 0129-*#")), max_size=60)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(PRINTABLE, st.booleans(), st.sampled_from([1, 2])), min_size=1, max_size=5))
def test_simulator_prints_what_the_encoder_laid_out(lines):
    """Two independent implementations agree: the driver's wrapped lines are the simulator's lines."""
    from drivers.printer import GENERIC_58, Cut, Document, Text, render
    from drivers.printer.layout import wrap

    doc = Document(tuple(Text(t, bold=b, size=s) for t, b, s in lines) + (Cut(),))
    sim = Interpreter(dots=384)
    sim.feed(render(doc, GENERIC_58))
    expected = [part for t, _, s in lines for part in wrap(t, 32 // s, GENERIC_58)]
    assert sim.completed[0].text == expected and sim.completed[0].warnings == []
