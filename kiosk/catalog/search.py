"""Search of the catalog by Chinese text, full pinyin and pinyin initials (`yyzz` → 营业执照), over an
index computed once at load so that a query is a scan of plain strings."""
from __future__ import annotations

import json
import logging
import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

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
    """One searchable field of every item joined into one string ("\n" between items), so that a query
    is a handful of C-speed ``str.find`` calls instead of a Python loop over the items."""

    def __init__(self, values: list[str]) -> None:
        self.text = "\n".join(values)
        self.starts: list[int] = []
        self.ends: list[int] = []
        pos = 0
        for value in values:
            self.starts.append(pos)
            pos += len(value)
            self.ends.append(pos)
            pos += 1

    def hits(self, q: str) -> Iterable[tuple[int, bool, bool]]:
        """(item index, at the start of the field, the whole field) for each item containing ``q``."""
        text, starts, ends = self.text, self.starts, self.ends
        pos = text.find(q)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            at_start = pos == starts[i]
            yield i, at_start, at_start and pos + len(q) == ends[i]
            pos = text.find(q, ends[i])  # next item: one hit per item is enough


class SearchIndex:
    """Precomputed search keys for every item; ``search`` ranks name matches above the rest."""

    def __init__(self, entries: Iterable[IndexEntry]) -> None:
        self._entries = list(entries)
        e = self._entries
        self._codes = [x.code for x in e]
        self._name = _Column([x.name.lower() for x in e])
        self._name_py = _Column([x.name_pinyin for x in e])
        self._name_ini = _Column([x.name_initials for x in e])
        self._extra = _Column([x.extra.lower() for x in e])
        self._extra_py = _Column([x.extra_pinyin for x in e])
        self._extra_ini = _Column([x.extra_initials for x in e])

    @classmethod
    def build(cls, items: Iterable[tuple[str, str, Iterable[str]]],
              keys: Callable[[str], tuple[str, str]] = pinyin_keys) -> "SearchIndex":
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
        """Item codes best first (then in catalog order). Latin queries match pinyin and initials;
        Chinese ones match text. Name matches rank above matches in situations and materials."""
        q = normalise_query(query)
        if not q:
            return []
        if _LATIN.fullmatch(q):
            # (column, score at the start of the field, score elsewhere)
            plan = [(self._name_ini, 80, 60), (self._name_py, 80, 60), (self._extra_ini, 20, 20),
                    (self._extra_py, 20, 20)]
        else:
            plan = [(self._name, 90, 70), (self._extra, 30, 30)]
        best: dict[int, int] = {}
        for n, (column, start_score, score) in enumerate(plan):
            flat = start_score == score  # every hit scores the same: hits come in catalog order, so the
            wanted = limit - len(best)   # first new ones are the best and the rest can be skipped
            for i, at_start, whole in column.hits(q):
                value = 100 if whole and column is self._name else start_score if at_start else score
                if value > best.get(i, 0):
                    if flat and i not in best:
                        wanted -= 1
                    best[i] = value
                    if flat and wanted <= 0:
                        break
            # Later columns score lower than anything found so far: stop once the page is full.
            later = max((p[1] for p in plan[n + 1:]), default=0)
            if sum(1 for v in best.values() if v > later) >= limit:
                break
        ranked = sorted(best, key=lambda i: (-best[i], i))[:limit]
        return [self._codes[i] for i in ranked]
