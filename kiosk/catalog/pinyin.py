"""Pinyin of catalog strings. pypinyin's phrase dictionaries take about 55 MB once imported, and a Python
process never gives that back: it is imported on first use only, which in the terminal happens in the
short-lived catalog compiler (kiosk.catalog.compiler), never in the serving process."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol, cast

_KEEP = re.compile(r"[^\W_]+")
WORDS_REMEMBERED = 50_000  # distinct words whose reading is kept (a few MB at most; the child is short-lived)

Syllables = tuple[str, ...]


class PinyinSource(Protocol):
    """Turns strings into their syllables (lower case, tone-less; a non-Hanzi character is a syllable of
    its own)."""

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        ...


@lru_cache(maxsize=65536)
def text_syllables(text: str) -> Syllables:
    """Syllables of the letters, digits and Hanzi of ``text``. Phrases are converted whole so that
    pypinyin's phrase readings apply (e.g. 银行 → yin hang). Imports pypinyin on first use."""
    kept = "".join(_KEEP.findall(text))
    if not kept:
        return ()
    out = _converting().lazy_pinyin(kept, errors=cast(Any, _each_character))
    return tuple(s.lower() for s in out if s.strip())


@lru_cache(maxsize=1)
def _converting() -> Any:
    """pypinyin's converter front (``pypinyin.core.Pinyin``) with each word's reading remembered. pypinyin
    cuts a string into words and converts every word afresh; in a catalog the same few hundred words
    (办理, 登记, 营业执照, department names…) make up thousands of names, and converting them once is
    what makes the compile of a new version about 0.4 s shorter for 5 000 items. The reading of a word
    does not depend on the string around it, so the result is the same as pypinyin's own."""
    from pypinyin import Style
    from pypinyin.converter import DefaultConverter
    from pypinyin.core import Pinyin

    class WordMemo(DefaultConverter):
        def __init__(self) -> None:
            super().__init__()
            self.readings: dict[tuple[Any, ...], tuple[tuple[str, ...], ...]] = {}

        def convert(self, words: str, style: Style, heteronym: bool, errors: Callable[[str], str] | str,
                    strict: bool = True, **kwargs: Any) -> list[list[str]]:
            key = (words, style, heteronym, errors, strict, *sorted(kwargs.items()))
            found = self.readings.get(key)
            if found is None:
                if len(self.readings) >= WORDS_REMEMBERED:
                    self.readings.clear()
                found = tuple(tuple(r) for r in super().convert(words, style, heteronym, errors, strict, **kwargs))
                self.readings[key] = found
            return [list(r) for r in found]

    return Pinyin(WordMemo())


def _each_character(run: str) -> list[str]:
    """Letters and digits between Hanzi: one syllable each (pypinyin accepts a list; its stub says str)."""
    return list(run.lower())


def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of ``text``, lower case, no separators (e.g. 营业执照 → yingyezhizhao, yyzz)."""
    syllables = text_syllables(text)
    return "".join(syllables), "".join(s[0] for s in syllables)


class InProcessPinyin:
    """pypinyin in this process."""

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        return [text_syllables(t) for t in texts]
