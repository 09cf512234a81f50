"""Layout by display width: wrapping never splits a character and never overflows a line."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer import GENERIC_58, GENERIC_80
from drivers.printer.layout import (
    char_columns,
    encode_char,
    glyph_image,
    label_value_lines,
    text_columns,
    unprintable_chars,
    wrap,
)

SAMPLE = "张三丰事项受理，。：（）·—A b1-¥𫖮😀é\u3000€"
CHARS = st.text(alphabet=st.sampled_from(list(SAMPLE)) | st.characters(codec="utf-8"), max_size=80)


def test_widths_follow_encoded_length():
    assert char_columns("A", GENERIC_80) == 1
    assert char_columns("张", GENERIC_80) == 2 and char_columns("，", GENERIC_80) == 2
    assert char_columns("¥", GENERIC_80) == 2  # drawn as a 24-dot glyph
    assert encode_char("¥", GENERIC_80) is None and encode_char("￥", GENERIC_80) == b"\xa3\xa4"
    assert encode_char("𫖮", GENERIC_80) is None
    assert encode_char("·", GENERIC_58) == b"\xa1\xa4"  # GB2312 row A1 holds the middle dot
    assert encode_char("–", GENERIC_58) is None and encode_char("–", GENERIC_80) == b"\xa8\x43"
    assert text_columns("张三 A", GENERIC_58) == 6


def test_unprintable_chars_in_order():
    assert unprintable_chars("每证¥20，张𫖮¥", GENERIC_80) == ["¥", "𫖮"]


@settings(max_examples=300, deadline=None)
@given(CHARS, st.integers(min_value=2, max_value=48))
def test_wrap_never_splits_or_overflows(text, columns):
    for profile in (GENERIC_58, GENERIC_80):
        lines = wrap(text, columns, profile)
        assert "".join(lines) == text
        assert all(text_columns(line, profile) <= columns for line in lines)
        assert all(line for line in lines[1:])  # no empty continuation lines


@settings(max_examples=200, deadline=None)
@given(CHARS, CHARS)
def test_label_value_lines_fit(label, value):
    for line in label_value_lines(label, value, 32, GENERIC_58):
        assert text_columns(line, GENERIC_58) <= 32


def test_label_value_on_one_line_when_it_fits():
    assert label_value_lines("申请人", "张*三", 32, GENERIC_58) == ["申请人" + " " * 21 + "张*三"]


def test_glyph_image_has_ink():
    img = glyph_image("𫖮", 24)
    assert img.size == (24, 24)
    assert 20 < img.convert("L").histogram()[0] < 400
