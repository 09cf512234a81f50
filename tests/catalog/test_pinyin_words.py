"""The catalog's pinyin remembers each word's reading (kiosk.catalog.pinyin): whatever it remembers, every
string must get exactly the syllables pypinyin itself gives, in any order of asking, and the memory stays
bounded."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from kiosk.catalog import Catalog
from kiosk.catalog import pinyin as kp
from kiosk.catalog.pinyin import Syllables, text_syllables


def pypinyin_own(text: str) -> Syllables:
    """pypinyin's module-level conversion (its default converter, nothing remembered)."""
    kept = "".join(kp._KEEP.findall(text))
    out = lazy_pinyin(kept, errors=cast(Any, lambda run: list(run.lower()))) if kept else []
    return tuple(s.lower() for s in out if s.strip())


class Recording:
    """A PinyinSource that keeps the strings a catalog asks for and answers as the terminal does."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        self.texts.extend(texts)
        return [text_syllables(t) for t in texts]


@pytest.fixture(scope="module")
def catalog_texts(aliased_raw: dict[str, Any]) -> list[str]:
    recording = Recording()
    Catalog(aliased_raw, recording)
    assert len(recording.texts) > 100
    return recording.texts


def fresh_memory() -> None:
    text_syllables.cache_clear()
    kp._converting.cache_clear()


def test_every_string_of_the_sample_catalog_reads_as_pypinyin_reads_it(catalog_texts):
    fresh_memory()
    forwards = [text_syllables(t) for t in catalog_texts]
    fresh_memory()
    backwards = [text_syllables(t) for t in reversed(catalog_texts)][::-1]
    expected = [pypinyin_own(t) for t in catalog_texts]
    assert forwards == expected and backwards == expected
    words = kp._converting()._converter.readings
    assert 0 < len(words) < sum(len(t) for t in catalog_texts)  # words were met more than once


def test_the_memory_of_words_is_bounded(catalog_texts, monkeypatch):
    monkeypatch.setattr(kp, "WORDS_REMEMBERED", 20)
    fresh_memory()
    try:
        got = [text_syllables(t) for t in catalog_texts]
        assert len(kp._converting()._converter.readings) <= 20
    finally:
        fresh_memory()
    assert got == [pypinyin_own(t) for t in catalog_texts]


HANZI = "办理营业执照登记社会保障卡出生医学证明农村宅基地建房审批不动产权银行行长重庆长沙乐山音乐还款觉得"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=HANZI + "abcXYZ019 -_（）/、", max_size=12), min_size=1, max_size=8))
def test_any_mix_of_hanzi_letters_and_signs_reads_as_pypinyin_reads_it(texts):
    # Heteronyms (行, 长, 重, 乐, 还, 得) inside and outside words: a word's reading must not leak
    # into the same character elsewhere.
    for text in texts:
        assert text_syllables(text) == pypinyin_own(text)
