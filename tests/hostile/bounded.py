"""Helpers of the hostile-input suites: run one call under a time bound (a hang fails the test instead of
stalling the run) and count how many cases each suite fed, for docs/hostile-input.md."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

# Cases fed per suite in this run; written out by tests/hostile/conftest.py at the end of the session.
CASES: Counter[str] = Counter()


def count(suite: str, n: int = 1) -> None:
    """Record ``n`` more cases fed to ``suite``."""
    CASES[suite] += n


def within(seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` run in a helper thread; its result, or the exception it raised (re-raised
    here). Fails the test when the call has not returned after ``seconds`` (a hang is a defect too)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, who asserts on its type
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="hostile-bounded-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"{getattr(fn, '__qualname__', fn)!s} still running after {seconds} s on hostile input")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
