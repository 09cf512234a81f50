"""Status decoding (DLE EOT 1–4, GS r, ASB) with the fixed-bit checks of escpos.md §1 and §6."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.status import (
    Asb,
    Cover,
    DleEotReply,
    GsrReply,
    Noise,
    Paper,
    StatusBits,
    StatusFormatError,
    StatusStream,
    paper_from_dle_eot4,
    paper_from_gs_r,
)


def test_dle_eot_4_vectors():
    assert paper_from_dle_eot4(0x12) is Paper.OK
    assert paper_from_dle_eot4(0x1E) is Paper.NEAR_END
    assert paper_from_dle_eot4(0x72) is Paper.OUT


def test_status_bits_decode():
    ok = StatusBits(0x12, 0x12, 0x12, 0x12).decode()
    assert (ok.online, ok.paper, ok.cover, ok.error) == (True, Paper.OK, Cover.CLOSED, None)
    cover = StatusBits(0x1A, 0x16, 0x12, 0x12).decode()
    assert (cover.online, cover.cover) == (False, Cover.OPEN)
    paper_end = StatusBits(0x1A, 0x32, 0x12, 0x72).decode()
    assert paper_end.paper is Paper.OUT and not paper_end.online
    cutter = StatusBits(0x1A, 0x52, 0x1A, 0x12).decode()
    assert cutter.error == "autocutter"
    assert StatusBits(0x12, 0x12, 0x52, 0x12).decode().error == "recoverable"


@pytest.mark.parametrize("bad", [0x00, 0x13, 0x92, 0x02, 0x10, 0xFF])
def test_fixed_bits_are_enforced(bad):
    with pytest.raises(StatusFormatError):
        StatusBits(bad, 0x12, 0x12, 0x12).decode()


def test_gs_r_reply():
    assert paper_from_gs_r(0x00) is Paper.OK
    assert paper_from_gs_r(0x03) is Paper.NEAR_END
    assert paper_from_gs_r(0x0C) is Paper.OUT
    with pytest.raises(StatusFormatError):
        paper_from_gs_r(0x12)  # a DLE EOT reply, not a GS r reply


def test_asb_decode_and_fixed_bits():
    clean = Asb(bytes([0x10, 0x00, 0x00, 0x00])).decode()
    assert clean.online and clean.paper is Paper.OK and clean.cover is Cover.CLOSED
    cover = Asb(bytes([0x38, 0x00, 0x00, 0x00])).decode()
    assert cover.cover is Cover.OPEN and not cover.online
    assert Asb(bytes([0x18, 0x00, 0x0C, 0x00])).decode().paper is Paper.OUT
    assert Asb(bytes([0x10, 0x08, 0x00, 0x00])).decode().error == "autocutter"
    with pytest.raises(StatusFormatError):
        Asb(bytes([0x12, 0x00, 0x00, 0x00])).decode()


def test_stream_classifies_replies_and_asb_frames():
    stream = StatusStream()
    events = stream.feed(bytes([0x12, 0x10, 0x00]) + bytes([0x03, 0x00]) + bytes([0x00, 0x72, 0xFF]))
    assert events == [DleEotReply(0x12), Asb(bytes([0x10, 0x00, 0x03, 0x00])), GsrReply(0x00),
                      DleEotReply(0x72), Noise(0xFF)]


def test_stream_resynchronises_after_a_false_frame_start():
    events = StatusStream().feed(bytes([0x10, 0x00, 0x12, 0x00]))
    assert events == [Noise(0x10), Noise(0x00), DleEotReply(0x12), GsrReply(0x00)]


def test_no_status_byte_is_xon_or_xoff():
    for b in (0x11, 0x13):
        assert StatusStream().feed(bytes([b])) == [Noise(b)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.lists(st.integers(min_value=1, max_value=8), max_size=20))
def test_stream_is_independent_of_chunking(data, cuts):
    whole = StatusStream().feed(data)
    stream, chunked, pos = StatusStream(), [], 0
    for size in cuts:
        chunked += stream.feed(data[pos:pos + size])
        pos += size
    chunked += stream.feed(data[pos:])
    assert chunked == whole
