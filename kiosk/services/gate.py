"""A gate around submission commits, so that a reboot never cuts a commit (or its notice) in half."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kiosk.services import ServiceError

CLOSED_MESSAGE = "终端即将重启，请稍等一分钟后再提交。已填写的内容不会保存，给您带来不便，敬请谅解。"


class CommitGate:
    """Counts commits in flight; ``close()`` refuses new ones and tells whether none is running."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closed = False

    @contextmanager
    def commit(self) -> Iterator[None]:
        """Hold the gate for one commit. Raises ServiceError("paused") once the gate is closed."""
        with self._cond:
            if self._closed:
                raise ServiceError("paused", CLOSED_MESSAGE, 503)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def close(self, wait_s: float = 0.0) -> bool:
        """Refuse new commits and wait up to ``wait_s`` for running ones. True when none runs; on False
        the gate is open again (the caller refuses what it wanted to do instead)."""
        with self._cond:
            self._closed = True
            if self._cond.wait_for(lambda: self._in_flight == 0, timeout=wait_s):
                return True
            self._closed = False
            return False

    def open(self) -> None:
        with self._cond:
            self._closed = False
