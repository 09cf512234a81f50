"""How the terminal's process uses the C heap (glibc): set once, before any thread starts.

Measured (bench/kiosk_real.py, issue 15): after central's 5 000-item catalog version is installed while
serving, the process stayed 17 MB above a fresh start with the same version, nearly all of it in anonymous
mappings: freed memory held by glibc's per-thread arenas (the catalog arrives on paho's thread and is
compiled and swapped in by another) and by large blocks that glibc's moving mmap threshold had put on a
heap instead of in mappings of their own. Two arenas and a fixed threshold let it go back (102 → 98 MB)."""
from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3     # glibc's mallopt parameters (malloc.h)
_M_ARENA_MAX = -8
ARENAS = 2                 # the main thread's and one shared by every other thread
MMAP_THRESHOLD = 128 * 1024    # glibc's default, kept fixed: a freed large block is unmapped at once


def tune_malloc() -> bool:
    """Applies ARENAS and MMAP_THRESHOLD; True if the C library took them (False elsewhere than glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    took = mallopt(_M_ARENA_MAX, ARENAS) == 1 and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    if not took:
        log.warning("the C library did not take the heap settings; memory use may be higher")
    return took
