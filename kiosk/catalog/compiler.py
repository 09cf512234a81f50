"""Compiling a catalog version: every item checked, the search terms built, their pinyin computed (only
for strings the previous compiled version did not have) and the result written as a compiled catalog.

The terminal runs this as a short-lived child (``python -m kiosk.catalog.compiler SOURCE DEST KEY
[--known COMPILED]``): parsing thousands of items and pypinyin's 55 MB of dictionaries then never touch
the serving process, whose memory Python would not give back. The child prints one JSON line:
``{"computed": N}`` (strings whose pinyin it computed) or ``{"error": "..."}`` with exit status 3 for a
catalog that is not usable."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from kiosk.catalog import Catalog, CatalogError, RawDetails, read_catalog_json
from kiosk.catalog.compiled import KnownFirst, known_pinyin, write_compiled
from kiosk.catalog.pinyin import InProcessPinyin, PinyinSource
from kiosk.catalog.terms import WordTable, builtin_words

EXIT_UNUSABLE = 3


def compile_raw(raw: dict[str, Any], dest: Path, key: str, known_from: Path | None = None,
                words: WordTable | None = None, pinyin: PinyinSource | None = None) -> int:
    """Compile ``raw`` into ``dest``; returns how many strings needed new pinyin. Raises CatalogError."""
    table = words or builtin_words()
    source = KnownFirst(known_pinyin(known_from) if known_from else {}, pinyin or InProcessPinyin())
    raws = RawDetails()
    catalog = Catalog(raw, source, words=table, details=raws)
    write_compiled(dest, catalog, raws, key, table.sha256)
    return source.computed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="catalog JSON")
    parser.add_argument("dest", type=Path, help="compiled catalog to write")
    parser.add_argument("key", help="where the catalog came from (kept in the compiled file)")
    parser.add_argument("--known", type=Path, help="a compiled catalog whose pinyin to reuse")
    args = parser.parse_args(argv)
    try:
        computed = compile_raw(read_catalog_json(args.source), args.dest, args.key, args.known)
    except CatalogError as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False), flush=True)
        return EXIT_UNUSABLE
    print(json.dumps({"computed": computed}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
