"""A thread at the process's priority that holds the store's write lock for the drain (issue 15).

The drain and paho's network thread run 10 nice steps below the process, so that a backlog drains on
CPU time a person does not need. But the drain's ack transaction holds the store's write lock, and a
submission that arrives meanwhile waits for its current slice to end. A nice-10 thread that holds the
lock ends it only once every nice-0 thread wanting the CPU has had its turn: measured while 100 000 cases
drained, holds of up to 35 ms for 12 ms of the thread's own CPU time, and submissions that waited up to
18 ms for the lock. A thread cannot take back the priority it gave up (that needs CAP_SYS_NICE), so the
transaction runs on this thread, started at the priority of the thread that starts the engine, while
the drain waits for it; so does the drain's write of upload progress, and so do the transactions of what
central pushes down (status pushes, catalog parts and installs, the record of a command), which arrive on
paho's thread. Every other step of the drain and of the downlink stays below the process's priority."""
from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("edge_sync.writer")

T = TypeVar("T")
_LOOK_S = 1.0   # how often a waiting caller checks that the writer still runs


class _Job(Generic[T]):
    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self._claim = threading.Lock()

    def claim(self) -> bool:
        """True for the one thread that runs the job: the writer, or the caller once the writer is gone."""
        return self._claim.acquire(blocking=False)

    def execute(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:    # handed to the caller, which raises it (the drain's supervisor)
            self.error = exc
        finally:
            self.done.set()


class Writer:
    """``run(fn)`` calls ``fn`` on the writer thread and returns its result (or raises its exception) in
    the caller. Before :meth:`start`, after :meth:`stop`, and on the writer thread itself, ``fn`` runs in
    the calling thread."""

    def __init__(self, name: str = "sync-writer") -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[_Job[object] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts the thread, which keeps the calling thread's priority: call it from the thread that runs
        at the process's priority (the one that starts the engine)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if sys.platform == "linux" and os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) > \
                    os.getpriority(os.PRIO_PROCESS, os.getpid()):
                log.warning("the store writer starts below the process's priority (started from %s)",
                            threading.current_thread().name)
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the thread once the job it runs, if any, is done; later calls of run() run in the caller."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)

    def run(self, fn: Callable[[], T]) -> T:
        thread = self._thread
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            return fn()
        job: _Job[T] = _Job(fn)
        self._jobs.put(job)     # type: ignore[arg-type]
        # A job that hangs hangs the caller too (the supervisor's stall check sees it). A writer stopped
        # before it took the job leaves it to the caller.
        while not job.done.wait(_LOOK_S):
            if not thread.is_alive() and job.claim():
                job.execute()
        if job.error is not None:
            raise job.error
        return job.result       # type: ignore[return-value]

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.claim():
                job.execute()
