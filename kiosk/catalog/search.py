"""Search of the catalog by Chinese text, full pinyin and pinyin initials (`yyzz` → 营业执照), over an
index computed once at load so that a query is a scan of plain strings."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from pypinyin import lazy_pinyin

_LATIN = re.compile(r"[a-z]+")
_KEEP = re.compile(r"[\w]+")


@lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Hanzi and alphanumerics of ``text``, lower case, no separators.
    Phrases are converted whole so that pypinyin's phrase readings apply (e.g. 银行 → yinhang)."""
    syllables = lazy_pinyin("".join(_KEEP.findall(text)), errors=lambda s: list(s.lower()))
    syllables = [s.lower() for s in syllables if s.strip()]
    return "".join(syllables), "".join(s[0] for s in syllables if s)


def normalise_query(query: str) -> str:
    return "".join(_KEEP.findall(query.strip().lower()))


@dataclass(frozen=True, slots=True)
class IndexEntry:
    code: str
    name: str
    name_pinyin: str
    name_initials: str
    extra: str  # situation, material and department names for weaker matches
    extra_pinyin: str
    extra_initials: str


class SearchIndex:
    """Precomputed search keys for every item; ``search`` ranks name matches above the rest."""

    def __init__(self, entries: Iterable[IndexEntry]) -> None:
        self._entries = list(entries)

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, Iterable[str]]]) -> "SearchIndex":
        """``items`` yields (code, name, extra texts). pypinyin runs here, once per distinct string;
        extra texts are kept apart by "|" so that a match never spans two of them."""
        entries = []
        for code, name, extras in items:
            name_py, name_ini = pinyin_keys(name)
            extras = list(extras)
            pieces = [pinyin_keys(x) for x in extras]
            entries.append(IndexEntry(code, name, name_py, name_ini, "|".join(extras),
                                      "|".join(p for p, _ in pieces), "|".join(i for _, i in pieces)))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = 30) -> list[str]:
        """Item codes best first. Latin queries match pinyin and initials; Chinese ones match text."""
        q = normalise_query(query)
        if not q:
            return []
        latin = _LATIN.fullmatch(q) is not None
        scored: list[tuple[int, int, str]] = []
        for pos, e in enumerate(self._entries):
            score = self._score(e, q, latin)
            if score:
                scored.append((-score, pos, e.code))
        scored.sort()
        return [code for _, _, code in scored[:limit]]

    @staticmethod
    def _score(e: IndexEntry, q: str, latin: bool) -> int:
        if latin:
            if e.name_initials.startswith(q) or e.name_pinyin.startswith(q):
                return 80
            if q in e.name_initials or q in e.name_pinyin:
                return 60
            if q in e.extra_initials or q in e.extra_pinyin:
                return 20
            return 0
        if e.name == q:
            return 100
        if e.name.startswith(q):
            return 90
        if q in e.name:
            return 70
        if q in e.extra:
            return 30
        return 0
