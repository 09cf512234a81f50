"""Pure scanner wire logic: line assembly, decoding, display escaping, duplicate window."""
from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner.protocol import (
    DuplicateFilter,
    LineAssembler,
    OverlongPayload,
    TextEncoding,
    TruncatedPayload,
    decode_payload,
    escape_for_display,
)
from drivers.scanner.scanner import make_scan

URL = b"https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP"


def feed_all(assembler: LineAssembler, *chunks: bytes) -> list:
    out = []
    for chunk in chunks:
        out += assembler.feed(chunk)
    return out


# ---- line assembly vectors ---------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [b"\r", b"\n", b"\r\n"])
def test_each_suffix_ends_a_payload(suffix):
    assert LineAssembler().feed(URL + suffix + b"B" + suffix) == [URL, b"B"]


def test_crlf_split_between_reads_gives_no_empty_payload():
    a = LineAssembler()
    assert a.feed(b"ABC\r") == [b"ABC"]
    assert a.feed(b"\n") == []
    assert a.feed(b"DEF\r") == [b"DEF"]
    assert a.feed(b"\nGHI\r\n") == [b"GHI"]
    assert a.pending == 0 and not a.busy


def test_partial_lines_across_reads():
    a = LineAssembler()
    assert feed_all(a, b"htt", b"ps://zw", b"fw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP") == []
    assert a.pending == len(URL)
    assert a.feed(b"\r") == [URL]


def test_empty_lines_are_skipped():
    assert LineAssembler().feed(b"\r\r\n\n\rA\r\n\r\n") == [b"A"]


def test_payload_of_exactly_max_len_passes_and_one_more_is_overlong():
    a = LineAssembler(max_len=8)
    assert a.feed(b"12345678\r") == [b"12345678"]
    assert a.feed(b"123456789\rGOOD\r") == [OverlongPayload(8), b"GOOD"]


def test_overlong_garbage_is_reported_once_and_following_payloads_survive():
    a = LineAssembler(max_len=16)
    out = feed_all(a, b"x" * 10, b"y" * 10, b"z" * 500)
    assert out == [OverlongPayload(16)]
    assert a.pending == 0 and a.busy  # discarding the rest of that line
    assert feed_all(a, b"still garbage", b"\r\nA\rB\n") == [b"A", b"B"]


def test_end_burst_after_garbage_resynchronises_without_a_terminator():
    a = LineAssembler(max_len=16)
    assert a.feed(b"g" * 40) == [OverlongPayload(16)]
    assert a.end_burst() == []  # the silence ends the discarded line
    assert a.feed(b"CODE\r") == [b"CODE"]


def test_silence_after_a_partial_line_is_a_truncated_payload():
    a = LineAssembler()
    assert a.feed(b"https://zwfw") == []
    assert a.end_burst() == [TruncatedPayload(12)]
    assert a.feed(b"NEXT\r") == [b"NEXT"]
    assert a.end_burst() == []


def test_gap_mode_makes_the_silence_a_delimiter_and_keeps_inner_line_ends():
    a = LineAssembler(terminators=b"", gap_ends_payload=True)
    assert a.feed(b"line 1\r\nline 2\x00") == []
    assert a.end_burst() == [b"line 1\r\nline 2\x00"]


def test_lf_only_terminator_keeps_cr_inside_payloads():
    assert LineAssembler(terminators=b"\n").feed(b"A\rB\n") == [b"A\rB"]


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        LineAssembler(max_len=0)
    with pytest.raises(ValueError):
        LineAssembler(terminators=b"")


# ---- line assembly properties ------------------------------------------------------------------

line_bytes = st.binary(min_size=1, max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)
suffixes = st.sampled_from([b"\r", b"\n", b"\r\n"])


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[i:j] for i, j in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(line_bytes, suffixes), max_size=12), st.lists(st.integers(min_value=0), max_size=20))
def test_any_chunking_of_valid_payloads_gives_the_same_payloads(lines, cuts):
    stream = b"".join(p + s for p, s in lines)
    a = LineAssembler(max_len=64)
    assert feed_all(a, *chunked(stream, cuts)) == [p for p, _ in lines]
    assert not a.busy


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=30), st.integers(min_value=1, max_value=80))
def test_random_bytes_never_crash_and_the_buffer_stays_bounded(data, cuts, max_len):
    whole = LineAssembler(max_len=max_len).feed(data)
    a = LineAssembler(max_len=max_len)
    out = []
    for chunk in chunked(data, cuts):
        out += a.feed(chunk)
        assert a.pending <= max_len
    assert out == whole  # chunking never changes the result, faults included
    for item in out:
        if isinstance(item, bytes):
            assert 0 < len(item) <= max_len and b"\r" not in item and b"\n" not in item
        else:
            assert item == OverlongPayload(max_len)


# ---- decoding and display ----------------------------------------------------------------------

@pytest.mark.parametrize("raw, text, encoding", [
    (URL, URL.decode(), TextEncoding.UTF8),
    ("受理通知书 张三".encode(), "受理通知书 张三", TextEncoding.UTF8),
    ("受理通知书 张三".encode("gbk"), "受理通知书 张三", TextEncoding.GB18030),
    ("𠀀".encode("gb18030"), "𠀀", TextEncoding.GB18030),  # 4-byte GB18030
    (b"\xff\xfe\x00\x80", "fffe0080", TextEncoding.HEX),
    (b"", "", TextEncoding.UTF8),
])
def test_decoding_policy(raw, text, encoding):
    decoded = decode_payload(raw)
    assert decoded.text == text and decoded.encoding is encoding


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decoding_never_raises_and_is_faithful(raw):
    decoded = decode_payload(raw)
    if decoded.encoding is TextEncoding.HEX:
        assert bytes.fromhex(decoded.text) == raw
    else:
        assert decoded.text.encode(decoded.encoding.value) == raw


def test_escape_for_display_vectors():
    assert escape_for_display("A\r\n\t\x00\x1dB\\") == "A\\r\\n\\t\\x00\\x1dB\\\\"
    assert escape_for_display("abc\u202edef\u200b") == "abc\\u202edef\\u200b"
    assert escape_for_display("受理 OK") == "受理 OK"
    assert escape_for_display("\x85\x7f") == "\\x85\\x7f"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_escaped_text_has_no_invisible_characters_and_can_be_read_back(text):
    shown = escape_for_display(text)
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"} for ch in shown)
    # Unambiguous: Python's own unicode_escape reading gives the original back.
    assert shown.encode("latin-1", "backslashreplace").decode("unicode_escape") == text


def test_make_scan_delivers_what_the_scanner_sent_decoded():
    scan = make_scan(URL)
    assert (scan.raw, scan.text, scan.encoding) == (URL, URL.decode(), TextEncoding.UTF8)
    gbk = make_scan("7KQ2M9XDPA4TH6WRP 查询".encode("gbk"))
    assert (gbk.text, gbk.encoding) == ("7KQ2M9XDPA4TH6WRP 查询", TextEncoding.GB18030)
    binary = make_scan(b"\xff\x00")
    assert binary.to_dict() == {"text": "ff00", "encoding": "hex"}
    assert make_scan(b"A\x1bB").to_dict() == {"text": "A\\x1bB", "encoding": "utf-8"}


def test_scan_repr_shows_no_payload():
    scan = make_scan("51190219800101123X 张三".encode())
    assert "5119" not in repr(scan) and "张" not in repr(scan)


# ---- duplicate window --------------------------------------------------------------------------

def test_duplicate_window_slides_while_the_code_is_held():
    f = DuplicateFilter(window=1.5)
    assert not f.is_duplicate(b"A", 0.0)
    assert f.is_duplicate(b"A", 1.0)
    assert f.is_duplicate(b"A", 2.0)  # still held: 1.0 s since the last sighting
    assert not f.is_duplicate(b"B", 2.1)
    assert not f.is_duplicate(b"A", 3.6)  # away for 1.6 s: a new scan


def test_duplicate_window_zero_keeps_everything_and_capacity_is_bounded():
    assert not DuplicateFilter(0).is_duplicate(b"A", 0.0)
    assert not DuplicateFilter(0).is_duplicate(b"A", 0.0)
    f = DuplicateFilter(window=10, capacity=2)
    for i, payload in enumerate([b"A", b"B", b"C"]):
        assert not f.is_duplicate(payload, float(i))
    assert not f.is_duplicate(b"A", 3.0)  # forgotten: capacity 2
    assert f.is_duplicate(b"C", 3.0)
