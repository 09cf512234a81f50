"""Supervision of long-lived workers: a worker that raises is logged once, restarted with jittered
exponential backoff, counted, and raised as an alarm once it keeps failing; a worker that stops beating
(hung) or whose thread is gone no longer counts as alive, so the watchdog stops being fed.

edge_sync supervises its own threads with it (connection, drain, housekeeping); the application reuses
it for device watchers and its periodic jobs."""
from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger("edge_sync.supervise")

Alarm = Callable[[str, dict[str, object]], None]

# How much lower than the process the background threads of sync (drain, MQTT network) run: while a
# backlog drains they would otherwise take the CPU from the threads a person waits for (issue 15).
BACKGROUND_NICE = 10


def lower_thread_priority(by: int = BACKGROUND_NICE) -> None:
    """Runs the calling thread ``by`` nice steps below the process's main thread (Linux gives each thread
    its own nice value; elsewhere this does nothing). Idempotent: a restarted worker does not sink further."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + by)
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except OSError as exc:      # not allowed here (a sandbox): the thread keeps its priority
        log.warning("could not lower the priority of thread %s: %s", threading.current_thread().name, exc)


class WorkerState(StrEnum):
    RUNNING = "running"
    BACKOFF = "backoff"     # failed; waiting to be started again
    DONE = "done"           # returned normally (a one-shot job such as opening a device)
    STOPPED = "stopped"     # stopped on purpose
    DEAD = "dead"           # its thread is gone without the supervisor (should never happen)
    STALLED = "stalled"     # running but has not beaten within its stall limit (hung)


@dataclass(frozen=True)
class WorkerReport:
    """One worker as health reports and the maintenance page show it (no exception text: it may quote data)."""

    name: str
    state: WorkerState
    restarts: int
    failing: int            # failures in a row (0 once it ran long enough without one)
    last_error: str         # exception type of the last failure, "" if none

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state.value, "restarts": self.restarts, "failing": self.failing,
                "last_error": self.last_error}


class Worker:
    """A supervised loop. ``target(worker)`` runs until ``worker.stopping`` is set; it calls
    :meth:`beat` at least every ``stall_after_s`` seconds when a stall limit is given."""

    def __init__(self, supervisor: Supervisor, name: str, target: Callable[[Worker], None],
                 stall_after_s: float | None, backoff_max_s: float) -> None:
        self.supervisor = supervisor
        self.name = name
        self.target = target
        self.stall_after_s = stall_after_s
        self.backoff_max_s = backoff_max_s
        self.stopping = threading.Event()
        self.state = WorkerState.RUNNING
        self.restarts = 0
        self.failing = 0
        self.last_error = ""
        self._alarmed = False
        self._logged: str = ""
        self._beat = self._started = supervisor.clock()
        self._thread: threading.Thread | None = None

    def beat(self, healthy: bool = False) -> None:
        """Tells the supervisor the loop is making progress; ``healthy``: it is doing its job again (a
        connection is up), which ends a failing streak at once instead of after ``healthy_after_s``."""
        now = self.supervisor.clock()
        self._beat = now
        if self.failing and (healthy or now - self._started >= self.supervisor.healthy_after_s):
            self._recovered()

    @property
    def alive(self) -> bool:
        return self.current_state() in (WorkerState.RUNNING, WorkerState.BACKOFF, WorkerState.DONE)

    def current_state(self) -> WorkerState:
        state = self.state
        thread = self._thread
        if state in (WorkerState.RUNNING, WorkerState.BACKOFF) and (thread is None or not thread.is_alive()):
            return WorkerState.DEAD
        if state is WorkerState.RUNNING and self.stall_after_s is not None \
                and self.supervisor.clock() - self._beat > self.stall_after_s:
            return WorkerState.STALLED
        return state

    def report(self) -> WorkerReport:
        return WorkerReport(self.name, self.current_state(), self.restarts, self.failing, self.last_error)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name=f"sup-{self.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _main(self) -> None:
        sup = self.supervisor
        while not self.stopping.is_set():
            self.state = WorkerState.RUNNING
            started = self._started = self._beat = sup.clock()
            try:
                self.target(self)
            except Exception as exc:
                if self.stopping.is_set():
                    break
                self._failed(exc, sup.clock() - started)
                self.state = WorkerState.BACKOFF
                if self.stopping.wait(sup.backoff(self.failing, self.backoff_max_s)):
                    break
                self.restarts += 1
                continue
            if not self.stopping.is_set():
                self.state = WorkerState.DONE
                self._recovered()
                return
        self.state = WorkerState.STOPPED

    def _failed(self, exc: Exception, ran_s: float) -> None:
        sup = self.supervisor
        if ran_s >= sup.healthy_after_s:
            self._recovered()
        self.failing += 1
        self.last_error = type(exc).__name__
        # Log once per kind of failure, with its traceback; repeats are counted, not logged.
        signature = f"{type(exc).__name__}: {exc}"[:200]
        if signature != self._logged:
            self._logged = signature
            log.error("worker %s failed (%d in a row), restarting with backoff", self.name, self.failing,
                      exc_info=exc)
        if self.failing >= sup.alarm_after and not self._alarmed:
            self._alarmed = True
            sup.raise_alarm("worker_failing", {"worker": self.name, "failures": self.failing,
                                               "error": self.last_error})

    def _recovered(self) -> None:
        if self.failing:
            log.info("worker %s runs again after %d failure(s)", self.name, self.failing)
        self.failing = 0
        self._logged = ""
        self._alarmed = False


class Supervisor:
    """Owns a set of workers. ``on_alarm(reason, fields)`` is called (once per failing streak) when a
    worker failed ``alarm_after`` times in a row; it may be set after construction."""

    def __init__(self, on_alarm: Alarm | None = None, *, alarm_after: int = 3, backoff_min_s: float = 0.5,
                 backoff_max_s: float = 30.0, healthy_after_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_alarm = on_alarm
        self.alarm_after = alarm_after
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.healthy_after_s = healthy_after_s
        self.clock = clock
        self._workers: dict[str, Worker] = {}
        self._lock = threading.Lock()

    def spawn(self, name: str, target: Callable[[Worker], None], *, stall_after_s: float | None = None,
              backoff_max_s: float | None = None) -> Worker:
        """Starts ``target`` on its own thread under supervision. A worker of the same name that has
        stopped is replaced. Raises ValueError when one of that name is still running."""
        with self._lock:
            old = self._workers.get(name)
            if old is not None and old.current_state() not in (WorkerState.STOPPED, WorkerState.DONE,
                                                                WorkerState.DEAD):
                raise ValueError(f"worker {name!r} is already running")
            worker = Worker(self, name, target, stall_after_s, backoff_max_s or self.backoff_max_s)
            if old is not None:
                worker.restarts = old.restarts
            self._workers[name] = worker
        worker.start()
        return worker

    def stop(self, name: str | None = None, timeout: float = 5.0) -> None:
        """Asks one worker (or all) to stop and waits for them; the targets see ``stopping`` set."""
        with self._lock:
            workers = [self._workers[name]] if name is not None and name in self._workers else \
                ([] if name is not None else list(self._workers.values()))
        for worker in workers:
            worker.stopping.set()
        deadline = self.clock() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - self.clock()))

    def worker(self, name: str) -> Worker | None:
        with self._lock:
            return self._workers.get(name)

    def reports(self) -> list[WorkerReport]:
        with self._lock:
            workers = list(self._workers.values())
        return [w.report() for w in workers]

    def all_alive(self) -> bool:
        """True while every worker runs, waits to be restarted, or finished its job — what the
        watchdog is fed on. A hung (stalled) worker or a vanished thread makes it False."""
        return all(r.state in (WorkerState.RUNNING, WorkerState.BACKOFF, WorkerState.DONE, WorkerState.STOPPED)
                   for r in self.reports())

    def restarts(self) -> int:
        return sum(r.restarts for r in self.reports())

    def backoff(self, failures: int, cap: float) -> float:
        """Jittered exponential delay before restart number ``failures``."""
        delay = min(cap, self.backoff_min_s * 2 ** max(0, failures - 1))
        return random.uniform(delay / 2, delay)

    def raise_alarm(self, reason: str, fields: dict[str, object]) -> None:
        alarm = self.on_alarm
        if alarm is None:
            log.error("ALARM %s %s (no alarm sink)", reason, fields)
            return
        try:
            alarm(reason, fields)
        except Exception:   # the alarm sink itself failing must not kill the worker
            log.exception("alarm %s could not be raised", reason)
