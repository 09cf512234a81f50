"""The installed catalog: items by window category, life-event theme (主题) and department, search,
and the working-day calendar. Built once per catalog version; read-only afterwards (thread-safe)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.catalog.model import CatalogError, Item, Situation, label, parse_item
from kiosk.catalog.search import PinyinCache, SearchIndex
from kiosk.catalog.workdays import CalendarGap, WorkCalendar

__all__ = [
    "CalendarGap",
    "Catalog",
    "CatalogError",
    "Item",
    "PinyinCache",
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


class Catalog:
    """One catalog version with its browse lists, search index and calendar."""

    def __init__(self, raw: dict[str, Any], pinyin: PinyinCache | None = None, lazy: bool = False) -> None:
        """Raises CatalogError naming what is wrong. ``pinyin`` keeps computed pinyin between loads;
        ``lazy`` checks situations and materials on first use only (for a catalog validated at install)."""
        if not isinstance(raw, dict):
            raise CatalogError("catalog: is not a JSON object")
        try:
            self.version = int(raw.get("version", 0))
        except (TypeError, ValueError, OverflowError):
            raise CatalogError("catalog: version is not a number") from None
        self.published_at = str(raw.get("published_at", ""))
        region = raw.get("region") or {}
        if not isinstance(region, dict):
            raise CatalogError(f"catalog: region is a {type(region).__name__}, not an object")
        self.region = dict(region)
        try:
            self.categories = {c["code"]: Category(str(c["code"]), str(c["name"]), int(c.get("floor", 1)),
                                                   tuple(int(w) for w in c.get("windows", [])),
                                                   str(c.get("description", "")))
                               for c in raw.get("categories", [])}
            self.departments = {d["code"]: str(d["name"]) for d in raw.get("departments", [])}
            self.themes = {t["code"]: {"code": t["code"], "name": str(t["name"]), "items": _codes(t.get("items"))}
                           for t in raw.get("themes", [])}
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise CatalogError(f"catalog: category, department or theme malformed ({label(repr(exc), 120)})"
                               ) from None
        items_raw = raw.get("items")
        if not isinstance(items_raw, list):
            raise CatalogError("catalog: field 'items' is missing or not a list")
        self.items: dict[str, Item] = {}
        for entry in items_raw:
            item = parse_item(entry, lazy)
            if item.code in self.items:
                raise CatalogError(f"item {label(item.code)}: appears twice")
            self.items[item.code] = item
        self.calendar = WorkCalendar.from_catalog(raw.get("calendars") or raw.get("calendar") or [])
        cache = pinyin or PinyinCache()
        self.index = SearchIndex.build(
            ((item.code, item.name, self._extra_texts(item)) for item in self.items.values()), cache.keys)
        cache.save()

    def _extra_texts(self, item: Item) -> list[str]:
        texts = set(item.texts())
        texts.add(self.departments.get(item.department, ""))
        return sorted(t for t in texts if t)

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
        tagged = [i for i in self.items.values() if code in i.themes and i not in listed]
        return listed + tagged

    def item(self, code: str) -> Item | None:
        return self.items.get(code)

    def search(self, query: str, limit: int = 30) -> list[Item]:
        return [self.items[c] for c in self.index.search(query, limit)]

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


def load_catalog(path: str | Path, pinyin_cache: Path | None = None, lazy: bool = False) -> Catalog:
    """Read a catalog JSON file; ``pinyin_cache`` is a file keeping the index's pinyin between loads;
    ``lazy`` as for Catalog. Raises CatalogError (also for unreadable or non-JSON files)."""
    try:
        raw = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise CatalogError(f"catalog file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CatalogError(f"catalog file {path}: not JSON ({label(str(exc), 120)})") from None
    except RecursionError:
        raise CatalogError(f"catalog file {path}: nested too deeply") from None
    return Catalog(raw, PinyinCache(pinyin_cache) if pinyin_cache else None, lazy)
