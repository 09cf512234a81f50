"""The terminal's process caps glibc's arenas at two (kiosk.memory, issue 15: RSS after a catalog install):
counted from glibc's own per-arena report in a child process whose threads each allocate."""
from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import ctypes, sys, threading
tune = sys.argv[1] == "tuned"
if tune:
    from kiosk.memory import tune_malloc
    assert tune_malloc()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
held, go = [], threading.Barrier(8)

def work():
    go.wait(10)              # all threads allocate at once: glibc gives contending threads arenas of their own
    for _ in range(200):
        held.append(libc.malloc(2000))

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join(10)
libc.malloc_stats()          # one "Arena N:" block per arena, on stderr
"""


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_threads_share_two_arenas_once_tuned():
    assert _arenas("tuned") <= 2
    assert _arenas("untuned") > 2      # the same load without it: the cap is what holds the count down
