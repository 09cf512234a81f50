"""The searchable terms of a catalog version: names and their parts, aliases, the everyday words of the
built-in table that mean an item, themes, and situation, material and department names; each with the
items that use it. Computed once per catalog version (and kept in the compiled catalog)."""
from __future__ import annotations

import hashlib
import json
import re
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kiosk.catalog.index import Kind, TermRecord
from kiosk.catalog.model import CatalogError, Item
from kiosk.catalog.query import normalise

WORDS_FILE = Path(__file__).with_name("everyday-words.json")
_RUNS = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class WordGroup:
    """Everyday words (社保卡, 医保卡…) and the catalog concepts they mean (社会保障卡)."""

    words: tuple[str, ...]
    concepts: tuple[str, ...]


@dataclass(frozen=True)
class WordTable:
    """The built-in table of everyday words (kiosk/catalog/everyday-words.json)."""

    groups: tuple[WordGroup, ...]
    sha256: str  # of the file: a compiled catalog made with another table is compiled again

    @classmethod
    def parse(cls, data: bytes) -> WordTable:
        """Raises CatalogError for a table that is not the documented shape."""
        try:
            raw = json.loads(data)
            groups = tuple(WordGroup(tuple(_strings(g["words"])), tuple(_strings(g["concepts"])))
                           for g in raw["groups"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CatalogError(f"everyday words table malformed: {type(exc).__name__} {exc}"[:200]) from None
        return cls(groups, hashlib.sha256(data).hexdigest())


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TypeError("expected a list of non-empty strings")
    return list(value)


@lru_cache(maxsize=1)
def builtin_words() -> WordTable:
    return WordTable.parse(WORDS_FILE.read_bytes())


class _Terms:
    """Terms in first-seen order, each with its users (``ord * 8 + kind``)."""

    def __init__(self) -> None:
        self.users: dict[str, list[int]] = {}
        self._searchable: dict[str, bool] = {}

    def add(self, text: str, ord_: int, kind: Kind) -> None:
        searchable = self._searchable.get(text)
        if searchable is None:
            searchable = self._searchable[text] = bool(text and normalise(text))
        if searchable:
            self.users.setdefault(text, []).append(TermRecord.encode(ord_, kind))

    def add_many(self, text: str, ords: Iterable[int], kind: Kind) -> None:
        for ord_ in ords:
            self.add(text, ord_, kind)


def catalog_terms(items: Sequence[Item], extras: Sequence[Sequence[str]], departments: Mapping[str, str],
                  themes: Mapping[str, Sequence[int]], theme_names: Mapping[str, str],
                  words: WordTable) -> list[tuple[str, array]]:
    """(text, users) of every distinct term, names first (in catalog order), then aliases, name parts,
    everyday words, themes and extras, so that a substring pass meets names before the rest.
    ``extras[i]`` are item i's situation and material names; ``themes`` maps a theme code to the
    positions of its items."""
    terms = _Terms()
    for n, item in enumerate(items):
        terms.add(item.name, n, Kind.NAME)
    for n, item in enumerate(items):
        for alias in item.aliases:
            terms.add(alias, n, Kind.ALIAS)
    for n, item in enumerate(items):
        runs = _RUNS.findall(item.name)
        if len(runs) > 1:
            for run in runs:
                if len(run) >= 2:
                    terms.add(run, n, Kind.PART)
    said = [_APART.join((item.name, *item.aliases)) for item in items]
    for group in words.groups:
        users = _users(items, said, group.concepts)
        for word in group.words:
            terms.add_many(word, users, Kind.WORD)
    for code, ords in themes.items():
        terms.add_many(theme_names.get(code, ""), ords, Kind.THEME)
    for n, item in enumerate(items):
        for text in sorted({*extras[n], departments.get(item.department, "")}):
            terms.add(text, n, Kind.EXTRA)
    return [(text, array("I", sorted(set(users)))) for text, users in terms.users.items()]


_APART = "\x00"  # between an item's name and its aliases in ``said``


def _users(items: Sequence[Item], said: Sequence[str], concepts: Sequence[str]) -> list[int]:
    """Positions of the items whose name or an alias contains one of ``concepts`` (``said[n]``: item n's
    name and aliases joined by _APART), ascending. One substring test per concept and item instead of
    one per concept, item and alias: 25 groups over 5 000 items took 0.2 s of a compile."""
    found: set[int] = set()
    for concept in concepts:
        if _APART in concept:  # could match across the joins: test the texts one by one
            found.update(n for n, item in enumerate(items) if _means(item, concept))
        else:
            found.update(n for n, text in enumerate(said) if concept in text)
    return sorted(found)


def _means(item: Item, concept: str) -> bool:
    return concept in item.name or any(concept in a for a in item.aliases)
