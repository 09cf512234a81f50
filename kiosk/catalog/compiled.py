"""The compiled form of a catalog version: one SQLite file with the item summaries, each item's JSON
(its details, parsed when its page opens) and the search terms with their pinyin. Written once under a
temporary name and renamed (whole or absent); opened read-only and immutable."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from kiosk.catalog import Catalog, Header, RawDetails
from kiosk.catalog.index import TermRecord
from kiosk.catalog.model import CatalogError, Item, ItemDetails, label, parse_details
from kiosk.catalog.pinyin import PinyinSource, Syllables

log = logging.getLogger(__name__)
FORMAT = 1          # bump when the file layout changes: older files are then compiled again
DETAILS_CACHED = 32  # item details kept parsed in memory (the pages people open now)
SUFFIX = ".sqlite"
PAGE_CACHE_KB = 256  # SQLite's page cache for the details of the pages people open (default: 2 MB)

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items(ord INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
  department TEXT NOT NULL, category TEXT NOT NULL, lists TEXT NOT NULL, statutory INTEGER NOT NULL,
  promised INTEGER NOT NULL, online_level TEXT NOT NULL, visits INTEGER NOT NULL, agent INTEGER NOT NULL,
  detail TEXT NOT NULL);
CREATE UNIQUE INDEX items_code ON items(code);
CREATE TABLE terms(id INTEGER PRIMARY KEY, text TEXT NOT NULL, syllables TEXT NOT NULL, users BLOB NOT NULL);
"""


class KnownFirst:
    """Pinyin already known (from the previous compiled catalog) first; only new strings go to ``source``."""

    def __init__(self, known: dict[str, Syllables], source: PinyinSource) -> None:
        self.known = known
        self.source = source
        self.computed = 0

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        new = sorted({t for t in texts if t not in self.known})
        self.computed = len(new)
        if new:
            self.known.update(zip(new, self.source.syllables(new), strict=True))
        return [self.known[t] for t in texts]


class CompiledDetails:
    """Item details read from a compiled catalog on use, the last DETAILS_CACHED kept parsed."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, ItemDetails] = OrderedDict()

    def cached(self) -> int:
        return len(self._cache)

    def details(self, code: str) -> ItemDetails:
        with self._lock:
            found = self._cache.get(code)
            if found is not None:
                self._cache.move_to_end(code)
                return found
            try:
                row = self._conn.execute("SELECT detail FROM items WHERE code = ?", (code,)).fetchone()
            except sqlite3.Error as exc:
                raise CatalogError(f"item {label(code)}: compiled catalog unreadable ({exc})") from None
        if row is None:
            raise CatalogError(f"item {label(code)}: not in the compiled catalog")
        try:
            found = parse_details(json.loads(row[0]), f"item {label(code)}")
        except ValueError as exc:
            raise CatalogError(f"item {label(code)}: compiled details damaged ({label(str(exc), 80)})") from None
        with self._lock:
            self._cache[code] = found
            while len(self._cache) > DETAILS_CACHED:
                self._cache.popitem(last=False)
        return found


def write_compiled(path: Path, catalog: Catalog, raws: RawDetails, key: str, words_sha: str) -> None:
    """Write ``catalog`` (built from JSON, every item checked) to ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(SCHEMA)
        meta = {"format": FORMAT, "key": key, "words": words_sha, "header": catalog.header.raw,
                "items": len(catalog.items), "terms": len(catalog.index.terms)}
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         [(k, json.dumps(v, ensure_ascii=False, separators=(",", ":"))) for k, v in meta.items()])
        conn.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            (n, i.code, i.name, i.kind, i.department, i.category,
             json.dumps([i.themes, i.aliases, i.pickup_methods], ensure_ascii=False, separators=(",", ":")),
             i.statutory_days, i.promised_days, i.online_level, i.visits_required, int(i.agent_allowed),
             json.dumps(raws.raw(i.code), ensure_ascii=False, separators=(",", ":")))
            for n, i in enumerate(catalog.items.values())))
        conn.executemany("INSERT INTO terms VALUES (?,?,?,?)", (
            (n, t.text, " ".join(t.syllables), t.users.tobytes()) for n, t in enumerate(catalog.index.terms)))
        conn.commit()
    finally:
        conn.close()
    os.replace(tmp, path)


def open_compiled(path: Path, words_sha: str) -> Catalog | None:
    """The catalog compiled in ``path``, or None when it is absent, damaged, of another format or made
    with another everyday-words table (it is then compiled again)."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        log.warning("compiled catalog %s not opened: %s", path.name, exc)
        return None
    try:
        conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KB}")
        meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        if meta.get("format") != FORMAT or meta.get("words") != words_sha:
            conn.close()
            return None
        header = Header.parse(meta["header"])
        source = CompiledDetails(conn)
        # Thousands of items repeat the same department, level, themes, aliases and syllables: one
        # object each (a 5 000-item catalog takes a third of the memory that way).
        strings: dict[str, str] = {}
        one = strings.setdefault
        tuples: dict[tuple[str, ...], tuple[str, ...]] = {}

        def shared(values: list[str]) -> tuple[str, ...]:
            t = tuple(one(v, v) for v in values)
            return tuples.setdefault(t, t)

        items: dict[str, Item] = {}
        for (code, name, kind, dep, cat, lists, statutory, promised, level, visits, agent) in conn.execute(
                "SELECT code, name, kind, department, category, lists, statutory, promised, online_level, visits,"
                " agent FROM items ORDER BY ord"):
            themes, aliases, pickup = (shared(v) for v in json.loads(lists))
            items[code] = Item(code, one(name, name), one(kind, kind), one(dep, dep), one(cat, cat), themes, aliases,
                               statutory, promised, one(level, level), visits, bool(agent), pickup, source)
        terms = [TermRecord(one(text, text), shared(syl.split(" ")) if syl else (), _users(blob))
                 for text, syl, blob in conn.execute("SELECT text, syllables, users FROM terms ORDER BY id")]
        if len(items) != meta.get("items") or len(terms) != meta.get("terms"):
            raise CatalogError("row counts differ from its header")
        return Catalog.assemble(header, items, terms)
    except (sqlite3.Error, ValueError, KeyError, TypeError, CatalogError) as exc:
        log.warning("compiled catalog %s unusable, compiling again: %s", path.name, label(str(exc), 120))
        conn.close()
        return None


def _users(blob: bytes) -> array:
    users = array("I")
    users.frombytes(blob)
    return users


def known_pinyin(path: Path) -> dict[str, Syllables]:
    """Text → syllables of every term of a compiled catalog (empty if it cannot be read)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return {}
    try:
        return {text: tuple(syl.split(" ")) if syl else () for text, syl in
                conn.execute("SELECT text, syllables FROM terms")}
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
