"""Benches pinned to one core (a Raspberry Pi proxy, issue 15): only the measuring process, never the broker
or central it starts, which on a real terminal run on other machines. Those keep every CPU, or with
``children_apart`` only the CPUs the terminal does not use: then they take none of its CPU time, as in the
field, but on a 2-core machine they share one core and central becomes the slower side."""
from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_ALL = frozenset(os.sched_getaffinity(0))
_FIRST = min(_ALL)
_terminal_side = threading.local()


def pin_to_first_core(children_apart: bool = False) -> None:
    """Puts every thread of this process on CPU 0 (threads started later inherit it). Processes started
    afterwards through ``subprocess`` keep every CPU, or with ``children_apart`` every CPU but 0: the
    calling thread is given that mask around each start, and the child inherits it."""
    children = ((_ALL - {_FIRST}) or _ALL) if children_apart else _ALL   # one CPU: nothing to keep apart
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), {_FIRST})

    def apart(popen: subprocess.Popen, start: Callable[[], Any]) -> Any:
        mask = os.sched_getaffinity(0)
        os.sched_setaffinity(0, children)
        try:
            return start()
        finally:
            os.sched_setaffinity(0, mask)
    _around_child_start(apart)


def children_at_nice(nice: int) -> None:
    """Sets every later ``subprocess`` child ``nice`` steps down right after it starts (threads it starts
    later inherit it; mosquitto has one, the central peer starts its own once Python is up): stand-ins for
    other machines (broker, central) then take only the CPU time the terminal leaves."""
    def lowered(popen: subprocess.Popen, start: Callable[[], Any]) -> Any:
        result = start()
        os.setpriority(os.PRIO_PROCESS, popen.pid, nice)
        return result
    _around_child_start(lowered)


@contextmanager
def terminal_side() -> Iterator[None]:
    """Processes started inside it (by this thread) are the terminal's side, not stand-ins for other
    machines: they keep this thread's CPUs and priority, whatever pin_to_first_core or children_at_nice
    set up for the stand-ins."""
    _terminal_side.on = True
    try:
        yield
    finally:
        _terminal_side.on = False


def _around_child_start(step: Callable[[subprocess.Popen, Callable[[], Any]], Any]) -> None:
    """Every later ``subprocess`` start goes through ``step(popen, start)``, which calls ``start()``,
    except those inside terminal_side()."""
    original = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def execute_child(self: subprocess.Popen, *args: Any, **kwargs: Any) -> Any:
        if getattr(_terminal_side, "on", False):
            return original(self, *args, **kwargs)
        return step(self, lambda: original(self, *args, **kwargs))
    subprocess.Popen._execute_child = execute_child  # type: ignore[attr-defined]
