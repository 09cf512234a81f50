"""Compiling a catalog version: every item checked, the search terms built, their pinyin computed (only
for strings the previous compiled version did not have) and the result written as a compiled catalog.

The terminal runs this as a short-lived child (``python -m kiosk.catalog.compiler SOURCE DEST KEY
[--known COMPILED]``): parsing thousands of items and pypinyin's 55 MB of dictionaries then never touch
the serving process, whose memory Python would not give back. The child prints one JSON line:
``{"computed": N}`` (strings whose pinyin it computed) or ``{"error": "..."}`` with exit status 3 for a
catalog that is not usable.

On more than one core the child forks a helper first (``ForkedPinyin``) that imports pypinyin while the
child itself reads and checks the catalog, then computes the new strings' pinyin: the import (about
0.3 s of the compile of 5 000 items) no longer adds to it. The child ends with ``os._exit`` once its
answer is out, instead of freeing the parsed catalog object by object (another 0.1 s)."""
from __future__ import annotations

import argparse
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from kiosk.catalog import Catalog, CatalogError, RawDetails, read_catalog_json
from kiosk.catalog.compiled import KnownFirst, known_pinyin, write_compiled
from kiosk.catalog.pinyin import InProcessPinyin, PinyinSource, Syllables, text_syllables
from kiosk.catalog.terms import WordTable, builtin_words

log = logging.getLogger(__name__)
EXIT_UNUSABLE = 3
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
HELPER_TIMEOUT_S = 300.0  # pinyin of 5 000 items takes well under a second; a helper this late is stuck


def _die_with_the_compiler() -> None:
    """The helper's first step: the kernel ends it when the compiler ends (Linux), so a compiler killed
    on its timeout leaves no helper behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _warm_up() -> None:
    text_syllables("办理")  # imports pypinyin and its dictionaries


def _syllables(texts: list[str]) -> list[Syllables]:
    return InProcessPinyin().syllables(texts)


class ForkedPinyin:
    """pypinyin in a forked helper process, warmed up from the start; in this process when only one core
    is ours or the helper fails (logged)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if len(os.sched_getaffinity(0)) < 2:
            return
        try:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_die_with_the_compiler)
            self._pool.submit(_warm_up)
        except OSError as exc:
            log.warning("pinyin helper not started (%s): computing here", exc)
            self.close()

    @property
    def forked(self) -> bool:
        return self._pool is not None

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        if self._pool is not None:
            try:
                return self._pool.submit(_syllables, list(texts)).result(timeout=HELPER_TIMEOUT_S)
            except (BrokenProcessPool, OSError, TimeoutError) as exc:
                log.warning("pinyin helper failed (%s): computing here", exc or type(exc).__name__)
                self.close(wait=not isinstance(exc, TimeoutError))
        return InProcessPinyin().syllables(texts)

    def close(self, wait: bool = True) -> None:
        """Stop the helper, waiting for it (at most its warm-up) unless it is stuck: that one dies with
        the compiler."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


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
    pinyin = ForkedPinyin()
    try:
        computed = compile_raw(read_catalog_json(args.source), args.dest, args.key, args.known, pinyin=pinyin)
    except CatalogError as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False), flush=True)
        return EXIT_UNUSABLE
    finally:
        pinyin.close()
    print(json.dumps({"computed": computed}), flush=True)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
