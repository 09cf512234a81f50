"""The application's long-lived workers under edge_sync's supervisor: each device watcher is started,
watched and started again when its thread is gone; optional devices that fail to open are retried
with backoff instead of being dropped for good; the IO board counts as lost when it does not answer."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from edge_sync.supervise import Worker

log = logging.getLogger(__name__)
CHECK_S = 5.0            # how often a watcher's thread is looked at (seldom: each look wakes a resting Pi)
BOARD_GRACE_S = 10.0     # an IO board that has not answered this long after start counts as lost


class WatcherDied(RuntimeError):
    """A device watcher's thread ended by itself (a fault the driver did not catch)."""


class Watched(Protocol):
    def stop(self) -> None: ...
    def alive(self) -> bool: ...


def watch_device(name: str, port: Watched, start: Callable[[], None],
                 check: Callable[[float], None] | None = None) -> Callable[[Worker], None]:
    """A worker target that starts ``port`` (``start()``), then raises WatcherDied once its thread is
    gone (the supervisor logs, counts, backs off and runs this again: a fresh watcher). ``check(seconds
    since start)`` runs every second (the IO board's answer deadline)."""
    def run(worker: Worker) -> None:
        start()
        started = time.monotonic()
        try:
            while not worker.stopping.wait(CHECK_S):
                worker.beat()
                if check is not None:
                    check(time.monotonic() - started)
                if not port.alive():
                    raise WatcherDied(f"{name} watcher stopped by itself")
        finally:
            try:
                port.stop()
            except Exception as exc:   # the old watcher is dropped either way
                log.warning("%s watcher did not stop cleanly: %s", name, type(exc).__name__)
    return run


def open_later(name: str, build: Callable[[], Any], install: Callable[[Any], None]) -> Callable[[Worker], None]:
    """A one-shot worker target: ``build()`` the device (raises → retried by the supervisor with
    backoff), then ``install(device)``."""
    def run(worker: Worker) -> None:
        device = build()
        if worker.stopping.is_set():
            _close(device)
            return
        install(device)
        log.info("%s available", name)
    return run


def _close(device: Any) -> None:
    close = getattr(device, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:
            log.debug("device not closed: %s", exc)
