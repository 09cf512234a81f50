"""Benches pinned to one core (a Raspberry Pi proxy, issue 15): only the measuring process, never the broker
or central it starts, which on a real terminal run on other machines."""
from __future__ import annotations

import os
import subprocess
from typing import Any

_ALL = frozenset(os.sched_getaffinity(0))


def pin_to_first_core() -> None:
    """Puts every thread of this process on CPU 0 (threads started later inherit it). Processes started
    afterwards through ``subprocess`` keep every CPU: the calling thread is unpinned around each start."""
    first = {min(_ALL)}
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), first)
    original = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def execute_child(self: subprocess.Popen, *args: Any, **kwargs: Any) -> Any:
        mask = os.sched_getaffinity(0)
        os.sched_setaffinity(0, _ALL)
        try:
            return original(self, *args, **kwargs)
        finally:
            os.sched_setaffinity(0, mask)
    subprocess.Popen._execute_child = execute_child  # type: ignore[attr-defined]
