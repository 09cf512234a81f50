"""Reserved storage headroom: a file kept allocated beside the store and given back to the filesystem
when a write that must not fail (an alarm, a tamper or help event, an audit record) finds the disk
full. Cases are refused long before that (the store's budget); the reserve is what lets a terminal
with a full disk still lock, alarm and call staff."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger("edge_sync.reserve")

T = TypeVar("T")


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's "database or disk is full" and the OS's ENOSPC/EDQUOT."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc).lower()
    return isinstance(exc, OSError) and exc.errno in (28, 122)


class StorageReserve:
    """``size_bytes`` held in ``path``. :meth:`ensure` (re)makes it when the disk has room for it and
    more; :meth:`release` frees it. Thread-safe; never raises."""

    def __init__(self, path: Path, size_bytes: int) -> None:
        self.path = Path(path)
        self.size_bytes = size_bytes
        self.released = 0         # times it was given back (reported in health)
        self._lock = threading.Lock()
        self._logged_short = False

    @property
    def present(self) -> bool:
        try:
            return self.size_bytes == 0 or self.path.stat().st_size >= self.size_bytes
        except OSError:
            return False

    def ensure(self) -> bool:
        """Allocates the reserve when it is missing and the disk has twice its size free; True when held."""
        if self.present:
            return True
        with self._lock:
            try:
                if shutil.disk_usage(self.path.parent).free < 2 * self.size_bytes:
                    if not self._logged_short:
                        self._logged_short = True
                        log.warning("storage reserve not held: less than %d MB free", 2 * self.size_bytes >> 20)
                    return False
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    # Allocated blocks, not a sparse file: the space is really held for later.
                    os.posix_fallocate(fd, 0, self.size_bytes)
                finally:
                    os.close(fd)
            except OSError as exc:
                self._drop()
                log.warning("storage reserve not allocated: %s", exc)
                return False
            if self._logged_short:
                log.info("storage reserve held again (%d MB)", self.size_bytes >> 20)
            self._logged_short = False
            return True

    def release(self) -> bool:
        """Frees the reserve; True when there was one to free."""
        with self._lock:
            if not self.path.exists():
                return False
            self._drop()
            self.released += 1
        log.error("disk full: storage reserve released for a safety record")
        return True

    def _drop(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass

    def run(self, write: Callable[[], T]) -> T:
        """``write()``; when it fails because the disk is full, frees the reserve and tries once more.
        Raises what the write raised when that does not help."""
        try:
            return write()
        except (sqlite3.Error, OSError) as exc:
            if not is_disk_full(exc) or not self.release():
                raise
        return write()
