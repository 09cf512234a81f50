"""The terminal's compiled catalogs: each catalog version checked once, its search terms and their pinyin
computed once (kiosk.catalog.compiler, in a short-lived child), and kept in the data directory
(kiosk.catalog.compiled). Starting the terminal then reads item summaries and the index from that file —
no JSON of thousands of items to parse, no pinyin to compute — and an item's details are read when its
page opens: the serving process holds no copy of the catalog's text beyond what browsing and search need.

Files are named for where the catalog came from: ``central-v42.sqlite`` for a version edge_sync
installed, ``file-<hash>.sqlite`` for a JSON file (its path, size, modification time and inode). The one
in use and the one before stay, older ones are removed."""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.catalog import Catalog, read_catalog_json
from kiosk.catalog.compiled import SUFFIX, KnownFirst, open_compiled
from kiosk.catalog.compiler import EXIT_UNUSABLE, compile_raw
from kiosk.catalog.model import CatalogError, label
from kiosk.catalog.pinyin import InProcessPinyin, PinyinSource
from kiosk.catalog.terms import WordTable, builtin_words

log = logging.getLogger(__name__)
KEEP = 2                 # compiled catalogs kept: the one in use and the one before
CHILD_TIMEOUT_S = 600.0  # a 5 000-item catalog compiles in a few seconds; a Pi under load, longer


class CompilerUnavailable(RuntimeError):
    """The compiling child could not run or died (not a fault of the catalog)."""


@dataclass(frozen=True)
class Prepared:
    """A catalog version ready to compile: ``build()`` compiles and opens it, ``discard()`` drops it."""

    build: Callable[[], Catalog]
    discard: Callable[[], None]


class CatalogStore:
    """The compiled catalogs of one terminal, in ``folder`` (None: nothing is kept, every load compiles in
    memory in this process). Compiling runs in a child process unless ``pinyin`` is given (tools and
    tests: compile here, pinyin from that source) or the everyday-words table is not the built-in one."""

    def __init__(self, folder: Path | None, pinyin: PinyinSource | None = None,
                 words: WordTable | None = None, python: str | None = None) -> None:
        self.folder = folder
        self.pinyin = pinyin
        self.words = words or builtin_words()
        self.python = python or sys.executable
        self.last_computed = 0  # strings whose pinyin the last compile computed
        self.last_compiled = False  # whether the last catalog asked for had to be compiled
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def in_child(self) -> bool:
        return self.folder is not None and self.pinyin is None and self.words is builtin_words()

    def path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key}{SUFFIX}"

    def cached(self, key: str) -> Catalog | None:
        path = self.path(key)
        found = None if path is None else open_compiled(path, self.words.sha256)
        self.last_compiled = found is None
        return found

    def from_file(self, file: str | Path) -> Catalog:
        """A catalog JSON file, compiled once (again when the file changes). Raises CatalogError or
        CompilerUnavailable."""
        try:
            st = Path(file).stat()
        except OSError as exc:
            raise CatalogError(f"catalog file {file}: {exc.strerror}") from None
        ident = f"{Path(file).resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
        key = "file-" + hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:16]
        found = self.cached(key)
        if found is not None:
            return found
        if self.in_child:
            return self._compile_in_child(Path(file), key)
        return self.compile(read_catalog_json(file), key)

    def installed(self, version: int, raw: Callable[[], dict[str, Any] | None]) -> Catalog | None:
        """The catalog version edge_sync installed: compiled if it was, else ``raw()`` compiled now
        (None when ``raw()`` has none). Raises CatalogError or CompilerUnavailable."""
        found = self.cached(central_key(version))
        if found is not None:
            return found
        data = raw()
        return None if data is None else self.compile(data, central_key(version))

    def install(self, version: int, raw: dict[str, Any]) -> Catalog:
        """A version edge_sync has just installed, compiled now. Raises CatalogError or CompilerUnavailable."""
        return self.prepare(version, raw).build()

    def prepare(self, version: int, raw: dict[str, Any]) -> Prepared:
        """``install`` in two steps: what needs ``raw`` now (spooling it to disk for the compiler child),
        and the rest (``build``), to run once the caller has let go of ``raw`` — the new catalog is then
        read into memory the parsed JSON has freed instead of growing the process. Both steps raise
        CatalogError or CompilerUnavailable."""
        key = central_key(version)
        self.last_compiled = True
        if not self.in_child:
            catalog = self.compile(raw, key)
            return Prepared(lambda: catalog, lambda: None)
        spool = self._spool(raw, key)
        return Prepared(lambda: self._compile_spooled(spool, key), lambda: spool.unlink(missing_ok=True))

    def compile(self, raw: dict[str, Any], key: str) -> Catalog:
        """Check every item of ``raw``, build the index, keep it under ``key`` and open it from disk."""
        path = self.path(key)
        if path is None:
            source = KnownFirst({}, self.pinyin or InProcessPinyin())
            catalog = Catalog(raw, source, words=self.words)
            self.last_computed = source.computed
            return catalog
        if self.in_child:
            return self._compile_spooled(self._spool(raw, key), key)
        self.last_computed = compile_raw(raw, path, key, self._newest(), self.words, self.pinyin)
        return self._open(path)

    def _spool(self, raw: dict[str, Any], key: str) -> Path:
        """``raw`` as JSON for the child, written as a stream (not as one big string)."""
        path = self.path(key)
        assert path is not None
        spool = path.with_name(path.name + ".json")
        try:
            with spool.open("w", encoding="utf-8") as out:
                json.dump(raw, out, ensure_ascii=False, separators=(",", ":"))
        except (OSError, TypeError, ValueError) as exc:
            spool.unlink(missing_ok=True)
            raise CompilerUnavailable(f"catalog not spooled for the compiler: {label(str(exc), 120)}") from None
        return spool

    def _compile_spooled(self, spool: Path, key: str) -> Catalog:
        try:
            return self._compile_in_child(spool, key)
        finally:
            spool.unlink(missing_ok=True)

    def _compile_in_child(self, source: Path, key: str) -> Catalog:
        path = self.path(key)
        assert path is not None
        newest = self._newest()
        argv = [self.python, "-m", "kiosk.catalog.compiler", str(source), str(path), key]
        if newest is not None:
            argv += ["--known", str(newest)]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=CHILD_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CompilerUnavailable(f"catalog compiler did not run: {exc}") from None
        try:
            answer = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
        except (ValueError, IndexError, UnicodeDecodeError):
            answer = {}
        if done.returncode == EXIT_UNUSABLE and isinstance(answer.get("error"), str):
            raise CatalogError(answer["error"])
        if done.returncode != 0 or not isinstance(answer.get("computed"), int):
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise CompilerUnavailable(f"catalog compiler exited {done.returncode}: {label(tail[0], 200)}")
        self.last_computed = answer["computed"]
        opened = self._open(path)
        release_freed_memory()
        return opened

    def _open(self, path: Path) -> Catalog:
        opened = open_compiled(path, self.words.sha256)
        if opened is None:
            raise CompilerUnavailable(f"compiled catalog {path.name} could not be read back")
        self._prune(keep=path)
        return opened

    def _compiled(self) -> list[Path]:
        if self.folder is None:
            return []
        return sorted(self.folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)

    def _newest(self) -> Path | None:
        found = self._compiled()
        return found[0] if found else None

    def _prune(self, keep: Path) -> None:
        others = [p for p in self._compiled() if p != keep]
        for old in others[KEEP - 1:]:
            try:
                old.unlink()
            except OSError as exc:
                log.warning("old compiled catalog %s not removed: %s", old.name, exc)


def central_key(version: int) -> str:
    return f"central-v{int(version)}"


def release_freed_memory() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``; a no-op elsewhere). Parsing
    a catalog's JSON (edge_sync does, before handing it over) frees tens of megabytes that the process
    would otherwise keep as resident."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
