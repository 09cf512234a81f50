"""The search index: every searchable string of the catalog (a *term*: an item's name, a part of it, an
alias, an everyday word, a theme, a situation or material) with the items that use it, kept as a few
plain strings so that a query is a handful of C-speed ``str.find`` and ``bisect`` calls.

A term is compared in five *views*: its text, its full pinyin, its initials, and both pinyin forms
folded for dialect confusions (``kiosk.catalog.query.fold``). Ranking: how the query met the term
(equal, prefix, inside it, the term inside the query, one typo away) and what the term is to the item
(its name ranks above an alias, an alias above an everyday word, those far above a material)."""
from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

from kiosk.catalog.query import Query, Script, fold, fold_initials

TYPO_MIN = 4      # letters a pinyin query needs before a typo is tolerated
TYPO_WINDOW = 3   # positions before the point where a long query stops matching tried first for a typo
TYPO_ALL_POSITIONS = 12  # up to this many letters, a typo is looked for at every position at once
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_FOLD1 = {"l": "n", "v": "u"}  # the single-letter folds of kiosk.catalog.query.fold


class Kind(IntEnum):
    """What a term is to the item that uses it."""

    NAME = 0
    ALIAS = 1   # 别名, from the catalog
    PART = 2    # a part of a name between brackets or punctuation
    WORD = 3    # an everyday word of the built-in table (kiosk/catalog/everyday-words.json)
    THEME = 4   # the life event (主题) the item belongs to
    EXTRA = 5   # a situation, material or department name


class How(IntEnum):
    """How a query met a term, best first."""

    EQUAL = 0
    PREFIX = 1
    CONTAINS = 2   # the query is inside the term
    INSIDE = 3     # the term is inside the query (我要办社保卡 ⊃ 社保卡)
    OVERLAP = 4    # the end of the query starts the term (banyingye → yingyezhizhao)
    TYPO = 5       # one letter wrong, missing, extra or swapped


HOW_SCORE = {How.EQUAL: 100, How.PREFIX: 92, How.CONTAINS: 80, How.INSIDE: 58, How.OVERLAP: 50, How.TYPO: 72}
KIND_SCORE = (0, -3, -6, -22, -24, -60)  # by Kind
MIN_SCORE = 15  # below this a hit is noise (a material one typo away, a material inside a sentence)


@dataclass(frozen=True, slots=True)
class TermRecord:
    """One distinct term: its text as written, its pinyin syllables, and its users (``ord * 8 + kind``,
    ``ord`` being the item's position in the catalog)."""

    text: str
    syllables: tuple[str, ...]
    users: array

    @staticmethod
    def encode(ord_: int, kind: Kind) -> int:
        return ord_ * 8 + int(kind)


@dataclass(frozen=True, slots=True)
class Hit:
    """An item found: its position in the catalog, its score, and the term that found it."""

    ord: int
    score: int
    kind: Kind
    how: How
    term: str


class _View:
    """One form of every term: joined by "\n" in term order (names first) for substring search, and in
    key order (``order``: term ids) for equal and prefix search by bisection. ``materialise`` keeps the
    sorted keys as a list too, for views searched hundreds of times per query (typos, containment)."""

    def __init__(self, keys: Sequence[str], materialise: bool = False) -> None:
        self.text = "\n" + "\n".join(keys) + "\n"
        starts = array("I")
        pos = 1
        for key in keys:
            starts.append(pos)
            pos += len(key) + 1
        starts.append(pos)  # one past the last key: term i is text[starts[i]:starts[i + 1] - 1]
        self.starts = starts
        self.order = array("I", sorted(range(len(keys)), key=keys.__getitem__))
        self.sorted: list[str] | None = [keys[i] for i in self.order] if materialise else None

    def key(self, term: int) -> str:
        return self.text[self.starts[term]:self.starts[term + 1] - 1]

    def find(self, q: str) -> Iterator[int]:
        """Term ids whose key contains ``q`` (each once, in term order)."""
        text, starts = self.text, self.starts
        pos = text.find(q)
        while pos >= 0:
            term = bisect_right(starts, pos) - 1
            yield term
            pos = text.find(q, starts[term + 1])

    def _first(self, key: str) -> int:
        """Position in key order of the first key not below ``key``."""
        if self.sorted is not None:
            return bisect_left(self.sorted, key)
        return bisect_left(self.order, key, key=self.key)

    def _key_at(self, i: int) -> str:
        return self.sorted[i] if self.sorted is not None else self.key(self.order[i])

    def starting(self, prefix: str) -> Iterator[int]:
        """Term ids whose key starts with ``prefix``, in key order."""
        i = self._first(prefix)
        while i < len(self.order) and self._key_at(i).startswith(prefix):
            yield self.order[i]
            i += 1

    def equal(self, key: str) -> Iterator[int]:
        """Term ids whose key is ``key``."""
        i = self._first(key)
        while i < len(self.order) and self._key_at(i) == key:
            yield self.order[i]
            i += 1

    def matching(self, q: str, how: How) -> Iterator[int]:
        if how is How.EQUAL:
            return self.equal(q)
        if how is How.PREFIX:
            return self.starting(q)
        return self.find(q)


class SearchIndex:
    """Terms of one catalog version in their five views; ``search`` returns ranked hits."""

    def __init__(self, terms: Sequence[TermRecord], text_keys: Sequence[str]) -> None:
        """``text_keys[i]`` is term i's text as queries are normalised (kiosk.catalog.query.normalise)."""
        self.terms = list(terms)
        full = ["".join(t.syllables) for t in self.terms]
        initials = ["".join(s[0] for s in t.syllables) for t in self.terms]
        self.text = _View(text_keys, materialise=True)
        self.pinyin = _View(full)
        self.initials = _View(initials)
        self.folded = _View([fold(p) for p in full], materialise=True)
        self.folded_initials = _View([fold_initials(i) for i in initials])

    def __len__(self) -> int:
        return len(self.terms)

    def _typos(self, q: str, found: _Found) -> None:
        """Terms one typo away. The typo sits at or before the point where the query stops starting any
        term (``reachable``; a query that still starts a term has no typo to fix yet). A long query tries
        the few positions just before that point first (another term may share the query's start past
        the typo, but rarely over many letters), and the earlier ones only if those found nothing; a short
        one tries every position."""
        reachable = self._reachable(q)
        if reachable == len(q):
            return
        near = max(0, reachable - TYPO_WINDOW) if len(q) > TYPO_ALL_POSITIONS else 0
        before = len(found.best)
        for first, last in ((near, reachable), (0, near - 1)):
            if first > last:
                continue
            found.begin()
            for variant in self._typo_variants(q, first, last):
                found.add_all(self.folded.starting(variant), How.TYPO, 0)
            if len(found.best) > before:
                return

    def _typo_variants(self, q: str, first: int, last: int) -> set[str]:
        """Folded prefixes that a term's folded pinyin starts with when ``q`` (as typed) is one edit from
        the start of its pinyin — a letter too many, two letters swapped, a wrong letter or a missing one
        — at positions ``first`` to ``last``, then folded (so ``gongzufnag`` still finds gongzufang although
        folding breaks the swapped "ng"). A wrong or missing letter is only tried where the letters up to
        it still start some term, which leaves a few letters per position instead of the alphabet. The
        last position needs none: ``q[:-1]`` as a prefix covers a wrong, extra or missing last letter."""
        out = {fold(q[:-1])}
        for i in range(first, min(len(q) - 1, last + 1)):
            head, here, tail = q[:i], q[i], q[i + 1:]
            out.add(fold(head + tail))                          # a letter too many
            out.add(fold(head + tail[0] + here + tail[1:]))     # two letters swapped
            for c in self._next_letters(head):
                if c != here:
                    out.add(fold(head + c + tail))              # a wrong letter
                out.add(fold(head + c + here + tail))           # a missing letter
        return out

    def _next_letters(self, head: str) -> list[str]:
        """Letters (as typed) that, after ``head``, still start some term's folded pinyin."""
        folded = fold(head)
        last = head[-1:]
        out = []
        for c in _LETTERS:
            # Folding is local except where head's last letter and c make a digraph (zh, ng, l+g …).
            start = fold(head + c) if last in "zcsnl" and c in "hg" else folded + _FOLD1.get(c, c)
            if next(self.folded.starting(start), None) is not None:
                out.append(c)
        return out

    def _reachable(self, q: str) -> int:
        """The length of the longest start of ``q`` that starts some term's folded pinyin: an edit
        further on cannot make a match (bisection over the lengths)."""
        lo, hi = 0, len(q)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if next(self.folded.starting(fold(q[:mid])), None) is None:
                hi = mid - 1
            else:
                lo = mid
        return lo

    def search(self, query: Query, limit: int = 30) -> list[Hit]:
        """The best ``limit`` items, best first (then shorter term, then catalog order)."""
        if query.empty or limit <= 0:
            return []
        found = _Found(self.terms, cap=max(4 * limit, 60))
        if query.script is Script.LATIN:
            q, folded = query.text, query.folded
            views = ((self.pinyin, q, 0, 1), (self.initials, q, -2, 2), (self.folded, folded, -6, 1),
                     (self.folded_initials, query.folded_initials, -8, 2))
            _passes(views, found, limit)
            if len(q) >= TYPO_MIN and found.at_least(HOW_SCORE[How.TYPO]) < limit:
                self._typos(q, found)
            if found.strong() < 3:
                _containment(folded, self.folded, found, 4, 1)
        else:
            _passes(((self.text, query.text, 0, 1),), found, limit)
            if found.strong() < 3:
                _containment(query.text, self.text, found, 2, 3)
        return found.ranked(limit)


def _passes(views: tuple[tuple[_View, str, int, int], ...], found: _Found, limit: int) -> None:
    """Equal, prefix and substring passes over ``views`` (view, query form, score adjustment, shortest
    query for a substring pass), best possible score first; stops once ``limit`` items score at least
    what the next pass could give."""
    passes = sorted(((HOW_SCORE[how] + adjust, view, q, how, adjust)
                     for view, q, adjust, shortest in views
                     for how in (How.EQUAL, How.PREFIX, How.CONTAINS)
                     if how is not How.CONTAINS or len(q) >= shortest), key=lambda p: -p[0])
    for top, view, q, how, adjust in passes:
        if found.at_least(top) >= limit:
            return
        found.begin()
        found.add_all(view.matching(q, how), how, adjust)


def _containment(q: str, view: _View, found: _Found, shortest: int, weight: int) -> None:
    """Terms inside the query (我要办社保卡 ⊃ 社保卡: the longer, the better) and terms that the query's
    end begins (办营业执 → 营业执照). ``weight`` scales a term's length into score (3 per Hanzi, 1 per
    letter). Only lengths up to how far the query starts some term from each position are looked up."""
    n = len(q)
    found.begin()
    for start in range(n - shortest + 1):
        reach = _reach(view, q, start)
        if start and reach == n - start:
            found.add_all(view.starting(q[start:]), How.OVERLAP, 0)
        for end in range(start + reach, start + shortest - 1, -1):
            if (start, end) != (0, n):
                found.add_all(view.equal(q[start:end]), How.INSIDE, min((end - start) * weight, 12))


def _reach(view: _View, q: str, start: int) -> int:
    """How many letters of ``q`` from ``start`` on start some term of ``view`` (bisection)."""
    lo, hi = 0, len(q) - start
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if next(view.starting(q[start:start + mid]), None) is None:
            hi = mid - 1
        else:
            lo = mid
    return lo


class _Found:
    """Best hit per item so far. A pass looks at ``cap`` item uses at most: a one-letter query or a
    material that every item asks for must not walk the whole catalog."""

    def __init__(self, terms: Sequence[TermRecord], cap: int) -> None:
        self.terms = terms
        self.cap = cap
        self.budget = cap
        self.best: dict[int, tuple[int, int, int, How]] = {}   # ord → (score, term length, term*8+kind, how)
        self.scores: dict[int, int] = {}                       # score → items with that best score

    def begin(self) -> None:
        self.budget = self.cap

    def add_all(self, term_ids: Iterator[int], how: How, adjust: int) -> None:
        base = HOW_SCORE[how] + adjust
        best, terms, scores = self.best, self.terms, self.scores
        for term in term_ids:
            if self.budget <= 0:
                return
            record = terms[term]
            size = len(record.text)
            for user in record.users:
                ord_, kind = user >> 3, user & 7
                score = base + KIND_SCORE[kind]
                if score < MIN_SCORE:
                    continue
                old = best.get(ord_)
                if old is None or score > old[0] or (score == old[0] and size < old[1]):
                    best[ord_] = (score, size, term * 8 + kind, how)
                    if old is not None:
                        scores[old[0]] -= 1
                    scores[score] = scores.get(score, 0) + 1
            self.budget -= len(record.users)

    def at_least(self, score: int) -> int:
        return sum(n for s, n in self.scores.items() if s >= score)

    def strong(self) -> int:
        """Items found by something other than a situation, material or department."""
        return sum(1 for _, _, ref, _ in self.best.values() if ref & 7 != Kind.EXTRA)

    def ranked(self, limit: int) -> list[Hit]:
        order = heapq.nsmallest(limit, self.best.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
        return [Hit(ord_, score, Kind(ref & 7), how, self.terms[ref >> 3].text)
                for ord_, (score, _, ref, how) in order]
