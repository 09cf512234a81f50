"""The installed catalog: items by window category, life-event theme (主题) and department, search,
and the working-day calendar. Built once per catalog version; read-only afterwards (thread-safe).

A catalog comes from JSON (``Catalog(raw)``, ``load_catalog``) or, in the terminal, from its compiled
form on disk (``kiosk.catalog.store.CatalogStore``): summaries and the search index in memory, each
item's details read when its page opens."""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.catalog.details import NO_EXTRAS, CatalogExtras
from kiosk.catalog.extras import parse_extras
from kiosk.catalog.index import Hit, How, Kind, SearchIndex, TermRecord
from kiosk.catalog.model import (
    CatalogError,
    Item,
    ItemDetails,
    Situation,
    label,
    parse_details,
    parse_item,
    situation_texts,
)
from kiosk.catalog.pinyin import InProcessPinyin, PinyinSource
from kiosk.catalog.query import Query, normalise, parse_query
from kiosk.catalog.terms import WordTable, builtin_words, catalog_terms
from kiosk.catalog.workdays import CalendarGap, WorkCalendar

__all__ = [
    "CalendarGap",
    "Catalog",
    "CatalogError",
    "Found",
    "Header",
    "Item",
    "SearchResult",
    "Situation",
    "WorkCalendar",
    "load_catalog",
]


@dataclass(frozen=True)
class Category:
    """A window category (窗口类别): SOC 社会事务 / ECO 经济发展 / CON 工程建设."""

    code: str
    name: str
    floor: int
    windows: tuple[int, ...]
    description: str


@dataclass(frozen=True)
class Header:
    """Everything of a catalog version but its items, parsed; ``raw`` is the JSON it came from (kept by
    the compiled catalog)."""

    version: int
    published_at: str
    region: dict[str, Any]
    categories: dict[str, Category]
    departments: dict[str, str]
    themes: dict[str, dict[str, Any]]
    calendar: WorkCalendar
    raw: dict[str, Any]
    extras: CatalogExtras = NO_EXTRAS  # village points and bundles (一件事一次办)

    @classmethod
    def parse(cls, raw: Any) -> Header:
        """Raises CatalogError naming what is wrong."""
        if not isinstance(raw, dict):
            raise CatalogError("catalog: is not a JSON object")
        try:
            version = int(raw.get("version", 0))
        except (TypeError, ValueError, OverflowError):
            raise CatalogError("catalog: version is not a number") from None
        region = raw.get("region") or {}
        if not isinstance(region, dict):
            raise CatalogError(f"catalog: region is a {type(region).__name__}, not an object")
        try:
            categories = {c["code"]: Category(str(c["code"]), str(c["name"]), int(c.get("floor", 1)),
                                              tuple(int(w) for w in c.get("windows", [])),
                                              str(c.get("description", "")))
                          for c in raw.get("categories", [])}
            departments = {d["code"]: str(d["name"]) for d in raw.get("departments", [])}
            themes = {t["code"]: {"code": t["code"], "name": str(t["name"]), "items": _codes(t.get("items"))}
                      for t in raw.get("themes", [])}
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise CatalogError(f"catalog: category, department or theme malformed ({label(repr(exc), 120)})"
                               ) from None
        calendar_raw = raw.get("calendars") or raw.get("calendar") or []
        kept = {k: raw[k] for k in ("version", "published_at", "region", "categories", "departments", "themes",
                                    "village_points", "bundles") if k in raw}
        kept["calendar"] = calendar_raw
        return cls(version, str(raw.get("published_at", "")), dict(region), categories, departments, themes,
                   WorkCalendar.from_catalog(calendar_raw), kept, parse_extras(raw))


class RawDetails:
    """Details from the catalog JSON in memory: parsed (and so checked) at once, or on first use."""

    def __init__(self) -> None:
        self._raw: dict[str, dict[str, Any]] = {}
        self._parsed: dict[str, ItemDetails] = {}
        self._lock = threading.Lock()

    def add(self, code: str, raw: dict[str, Any], lazy: bool) -> None:
        self._raw[code] = raw
        if not lazy:
            self._parsed[code] = parse_details(raw, f"item {label(code)}")

    def raw(self, code: str) -> dict[str, Any]:
        return self._raw[code]

    def details(self, code: str) -> ItemDetails:
        found = self._parsed.get(code)
        if found is None:
            found = parse_details(self._raw[code], f"item {label(code)}")
            with self._lock:
                self._parsed[code] = found
        return found


@dataclass(frozen=True)
class Found:
    """An item a search found, with the term that found it (an alias, an everyday word …)."""

    item: Item
    score: int
    kind: Kind
    how: How
    term: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.item.summary(), "match": {"kind": self.kind.name.lower(), "how": self.how.name.lower(),
                                                 "term": self.term}}


@dataclass(frozen=True)
class SearchResult:
    """The answer to one query: the items found, best first; none means "no result" (the screen then
    offers the categories and staff)."""

    query: Query
    found: tuple[Found, ...]

    @property
    def no_result(self) -> bool:
        return not self.found

    @property
    def items(self) -> list[Item]:
        return [f.item for f in self.found]


class Catalog:
    """One catalog version with its browse lists, search index and calendar."""

    def __init__(self, raw: dict[str, Any], pinyin: PinyinSource | None = None, lazy: bool = False,
                 words: WordTable | None = None, details: RawDetails | None = None) -> None:
        """Raises CatalogError naming what is wrong. ``lazy`` checks each item's details on first use
        only (for a catalog already checked); ``pinyin`` computes the index's pinyin (default: in this
        process); ``words`` is the everyday-words table (default: the built-in one); ``details`` keeps
        the items' JSON (default: a new RawDetails)."""
        header = Header.parse(raw)
        items_raw = raw.get("items")
        if not isinstance(items_raw, list):
            raise CatalogError("catalog: field 'items' is missing or not a list")
        source = details if details is not None else RawDetails()
        items: dict[str, Item] = {}
        extras: list[list[str]] = []
        for entry in items_raw:
            item = parse_item(entry, source)
            if item.code in items:
                raise CatalogError(f"item {label(item.code)}: appears twice")
            source.add(item.code, entry, lazy)
            items[item.code] = item
            extras.append(situation_texts(entry))
        self._setup(header, items)
        terms = self.terms(extras, words or builtin_words())
        syllables = (pinyin or InProcessPinyin()).syllables([t for t, _ in terms])
        self._index(TermRecord(text, syl, users) for (text, users), syl in zip(terms, syllables, strict=True))

    @classmethod
    def assemble(cls, header: Header, items: dict[str, Item], terms: Sequence[TermRecord]) -> Catalog:
        """A catalog from parts already checked (the compiled form)."""
        catalog = cls.__new__(cls)
        catalog._setup(header, items)
        catalog._index(terms)
        return catalog

    def _setup(self, header: Header, items: dict[str, Item]) -> None:
        self.header = header
        self.version = header.version
        self.published_at = header.published_at
        self.region = header.region
        self.categories = header.categories
        self.departments = header.departments
        self.themes = header.themes
        self.calendar = header.calendar
        self.extras = header.extras
        self.items = items

    def _index(self, terms: Any) -> None:
        records = list(terms)
        self.index = SearchIndex(records, [normalise(r.text) for r in records])
        self._order = list(self.items.values())

    def terms(self, extras: Sequence[Sequence[str]], words: WordTable) -> list[tuple[str, Any]]:
        """The searchable terms of this catalog (``extras[i]``: item i's situation and material names)."""
        ords = {item.code: n for n, item in enumerate(self.items.values())}
        themes = {code: [ords[i.code] for i in self.by_theme(code)] for code in self.themes}
        return catalog_terms(list(self.items.values()), extras, self.departments, themes,
                             {code: t["name"] for code, t in self.themes.items()}, words)

    # Browsing ---------------------------------------------------------------------------------
    def by_category(self, code: str) -> list[Item]:
        return [i for i in self.items.values() if i.category == code]

    def by_department(self, code: str) -> list[Item]:
        return [i for i in self.items.values() if i.department == code]

    def by_theme(self, code: str) -> list[Item]:
        theme = self.themes.get(code)
        if theme is None:
            return []
        listed = [self.items[c] for c in theme["items"] if c in self.items]
        seen = {id(i) for i in listed}
        tagged = [i for i in self.items.values() if code in i.themes and id(i) not in seen]
        return listed + tagged

    def item(self, code: str) -> Item | None:
        return self.items.get(code)

    def find(self, query: str | Query, limit: int = 30) -> SearchResult:
        """Items for what a person typed, best first. Never raises: any string gives items or none."""
        q = query if isinstance(query, Query) else parse_query(query)
        hits: list[Hit] = self.index.search(q, limit)
        return SearchResult(q, tuple(Found(self._order[h.ord], h.score, h.kind, h.how, h.term) for h in hits))

    def search(self, query: str, limit: int = 30) -> list[Item]:
        return self.find(query, limit).items

    def window_of(self, item: Item) -> dict[str, Any]:
        """Where to go for an item: the category's floor and window range."""
        cat = self.categories.get(item.category)
        if cat is None:
            return {"category": item.category, "name": item.category, "floor": None, "windows": ""}
        windows = f"{cat.windows[0]}–{cat.windows[-1]}" if cat.windows else ""
        return {"category": cat.code, "name": cat.name, "floor": cat.floor, "windows": windows}

    def home(self) -> dict[str, Any]:
        """What the home screen lists: categories, themes and departments with item counts."""
        counts_cat: dict[str, int] = {}
        counts_dep: dict[str, int] = {}
        for i in self.items.values():
            counts_cat[i.category] = counts_cat.get(i.category, 0) + 1
            counts_dep[i.department] = counts_dep.get(i.department, 0) + 1
        return {
            "version": self.version,
            "categories": [{"code": c.code, "name": c.name, "floor": c.floor, "description": c.description,
                            "count": counts_cat.get(c.code, 0)} for c in self.categories.values()],
            "themes": [{"code": t["code"], "name": t["name"], "count": len(self.by_theme(t["code"]))}
                       for t in self.themes.values()],
            "departments": [{"code": code, "name": name, "count": counts_dep.get(code, 0)}
                            for code, name in self.departments.items()],
        }

    def item_view(self, item: Item) -> dict[str, Any]:
        """Everything the item page shows."""
        return {**item.to_dict(), "department_name": self.departments.get(item.department, item.department),
                "window": self.window_of(item),
                "themes": [{"code": t, "name": self.themes[t]["name"]} for t in item.themes if t in self.themes]}


def _codes(value: Any) -> list[str]:
    """A theme's item codes. Raises TypeError (reported as a malformed theme) for anything but a list of
    strings: a list or object among them would make every home screen fail later."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise TypeError("theme items must be a list of item codes")
    return list(value)


def read_catalog_json(path: str | Path) -> dict[str, Any]:
    """The JSON of a catalog file. Raises CatalogError (also for unreadable or non-JSON files)."""
    try:
        raw = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise CatalogError(f"catalog file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CatalogError(f"catalog file {path}: not JSON ({label(str(exc), 120)})") from None
    except RecursionError:
        raise CatalogError(f"catalog file {path}: nested too deeply") from None
    if not isinstance(raw, dict):
        raise CatalogError(f"catalog file {path}: is not a JSON object")
    return raw


def load_catalog(path: str | Path, lazy: bool = False, pinyin: PinyinSource | None = None) -> Catalog:
    """A catalog from a JSON file, all in memory (tools and tests; the terminal uses CatalogStore).
    Raises CatalogError."""
    return Catalog(read_catalog_json(path), pinyin, lazy)
