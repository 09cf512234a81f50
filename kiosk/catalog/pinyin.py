"""Pinyin of catalog strings. pypinyin's phrase dictionaries take about 55 MB once imported, and a Python
process never gives that back: it is imported on first use only, which in the terminal happens in the
short-lived catalog compiler (kiosk.catalog.compiler), never in the serving process."""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol, cast

_KEEP = re.compile(r"[^\W_]+")

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
    from pypinyin import lazy_pinyin

    kept = "".join(_KEEP.findall(text))
    if not kept:
        return ()
    out = lazy_pinyin(kept, errors=cast(Any, _each_character))
    return tuple(s.lower() for s in out if s.strip())


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
