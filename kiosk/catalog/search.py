"""Search of the catalog by Chinese text, full pinyin and pinyin initials (`yyzz` → 营业执照), over an
index computed once at load so that a query is a scan of plain strings."""
from __future__ import annotations

import heapq
import json
import logging
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pypinyin import lazy_pinyin

log = logging.getLogger(__name__)
_LATIN = re.compile(r"[a-z]+")
_KEEP = re.compile(r"[\w]+")


@lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Hanzi and alphanumerics of ``text``, lower case, no separators.
    Phrases are converted whole so that pypinyin's phrase readings apply (e.g. 银行 → yinhang)."""
    syllables = lazy_pinyin("".join(_KEEP.findall(text)), errors=lambda s: list(s.lower()))
    syllables = [s.lower() for s in syllables if s.strip()]
    return "".join(syllables), "".join(s[0] for s in syllables if s)


class PinyinCache:
    """Pinyin keys of catalog strings kept in a file between loads (the precomputed part of the index):
    pypinyin's phrase-aware conversion is the slowest step of a load, and a new catalog version shares
    almost all its strings with the previous one. A missing or damaged file only costs time."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._known: dict[str, tuple[str, str]] = {}
        self._used: set[str] = set()
        self.computed = 0
        if path is not None and path.exists():
            try:
                raw = json.loads(path.read_text("utf-8"))
                self._known = {k: (v[0], v[1]) for k, v in raw.items() if isinstance(v, list) and len(v) == 2}
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                log.warning("pinyin cache %s unreadable, rebuilding: %s", path, exc)

    def keys(self, text: str) -> tuple[str, str]:
        self._used.add(text)
        found = self._known.get(text)
        if found is None:
            found = self._known[text] = pinyin_keys(text)
            self.computed += 1
        return found

    def save(self) -> None:
        """Write the entries used by the last build (atomically); a no-op without a path or news."""
        if self.path is None or not self.computed:
            return
        data = {k: list(self._known[k]) for k in self._used}
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("pinyin cache not saved: %s", exc)


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


class _Column:
    """One searchable field of every item in one string, each value between "\n"s, so that a query is a
    few C-speed ``str.find`` calls instead of a Python loop over the items."""

    def __init__(self, values: list[str]) -> None:
        self.text = "\n" + "\n".join(values) + "\n"
        self.starts: list[int] = []
        pos = 1
        for value in values:
            self.starts.append(pos)
            pos += len(value) + 1

    def hits(self, q: str, mode: str) -> Iterator[int]:
        """Indexes (catalog order) of the items whose value equals ("whole"), starts with ("prefix") or
        contains ("any") ``q``; each item once."""
        needle = {"whole": f"\n{q}\n", "prefix": f"\n{q}", "any": q}[mode]
        shift = 0 if mode == "any" else 1  # the needle starts at the "\n" before the value
        text, starts = self.text, self.starts
        pos = text.find(needle)
        while pos >= 0:
            i = bisect_right(starts, pos + shift) - 1
            yield i
            next_start = starts[i + 1] if i + 1 < len(starts) else len(text)
            pos = text.find(needle, next_start - shift)


class _Extra:
    """A column of distinct texts whose hits are the items using those texts, in catalog order."""

    def __init__(self, column: _Column, users: list[list[int]]) -> None:
        self.column = column
        self.users = users

    def hits(self, q: str, mode: str) -> Iterator[int]:
        last = -1
        for i in heapq.merge(*(self.users[d] for d in self.column.hits(q, mode))):
            if i != last:
                last = i
                yield i


class SearchIndex:
    """Precomputed search keys for every item; ``search`` ranks name matches above the rest."""

    def __init__(self, entries: Iterable[IndexEntry]) -> None:
        self._entries = list(entries)
        e = self._entries
        self._codes = [x.code for x in e]
        name = _Column([x.name.lower() for x in e])
        name_py = _Column([x.name_pinyin for x in e])
        name_ini = _Column([x.name_initials for x in e])
        # Situation and material names repeat across items: search each distinct one once, then map
        # it to the items that use it (item lists are in catalog order).
        users: dict[tuple[str, str, str], list[int]] = {}
        for i, x in enumerate(e):
            if x.extra:
                for key in zip(x.extra.split("|"), x.extra_pinyin.split("|"), x.extra_initials.split("|")):
                    users.setdefault(key, []).append(i)
        self._users = list(users.values())
        extra = _Extra(_Column([k[0].lower() for k in users]), self._users)
        extra_py = _Extra(_Column([k[1] for k in users]), self._users)
        extra_ini = _Extra(_Column([k[2] for k in users]), self._users)
        # Passes in falling score order: (column, match mode, score).
        self._hanzi_plan = [(name, "whole", 100), (name, "prefix", 90), (name, "any", 70), (extra, "any", 30)]
        self._latin_plan = [(name_ini, "prefix", 80), (name_py, "prefix", 80), (name_ini, "any", 60),
                            (name_py, "any", 60), (extra_ini, "any", 20), (extra_py, "any", 20)]

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, Iterable[str]]],
              keys: Callable[[str], tuple[str, str]] = pinyin_keys) -> SearchIndex:
        """``items`` yields (code, name, extra texts); ``keys`` gives a string's pinyin (cached). Extra
        texts are kept apart by "|" so that a match never spans two of them."""
        entries = []
        for code, name, extras in items:
            name_py, name_ini = keys(name)
            extras = list(extras)
            pieces = [keys(x) for x in extras]
            entries.append(IndexEntry(code, name, name_py, name_ini, "|".join(extras),
                                      "|".join(p for p, _ in pieces), "|".join(i for _, i in pieces)))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = 30) -> list[str]:
        """Item codes best first, then in catalog order. Latin queries match pinyin and initials;
        Chinese ones match text. Name matches rank above matches in situations and materials."""
        q = normalise_query(query)
        if not q:
            return []
        plan = self._latin_plan if _LATIN.fullmatch(q) else self._hanzi_plan
        best: dict[int, int] = {}
        for n, (column, mode, score) in enumerate(plan):
            # Every hit of a pass scores the same and comes in catalog order: the first new ones are
            # the best of the pass, so a pass stops once the page could be full.
            wanted = limit
            for i in column.hits(q, mode):
                if i not in best:
                    best[i] = score
                    wanted -= 1
                    if wanted <= 0:
                        break
            next_score = plan[n + 1][2] if n + 1 < len(plan) else -1
            if len(best) >= limit and next_score < score:
                break
        ranked = sorted(best, key=lambda i: (-best[i], i))[:limit]
        return [self._codes[i] for i in ranked]
