"""The hall's child processes: simulators and mosquitto in their own session (Ctrl-C reaches only the
hall, which then stops them in order), each logging to a file in the workdir, and the terminal itself
(``kiosk run``) stopped by SIGTERM like systemd would."""
from __future__ import annotations

import collections
import ctypes
import getpass
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from simulators.hall.broker import Broker
from simulators.hall.procs import ManagedProcess, terminate

PR_SET_PDEATHSIG = 1
STDERR_TAIL = 60  # lines kept in memory for error messages; the rest is in the log file
EVENTS_KEPT = 500


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the hall dies, even by SIGKILL (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def child_options() -> dict[str, Any]:
    """Popen options of every hall child. The parent-death signal fires when the *thread* that forked
    the child ends, so it is only set for children started from the main thread (not for a broker
    restarted from the control panel's thread)."""
    options: dict[str, Any] = {"start_new_session": True}
    if threading.current_thread() is threading.main_thread() and sys.platform.startswith("linux"):
        options["preexec_fn"] = _die_with_parent
    return options


class LoggedProcess(ManagedProcess):
    """A ManagedProcess whose stderr goes to ``log_path`` (a short tail stays in memory) and whose JSON
    lines after the ready line are collected as numbered events that callers can wait for."""

    def __init__(self, argv: list[str], log_path: Path, ready_timeout: float = 15.0,
                 env: dict | None = None) -> None:
        super().__init__(argv, ready_timeout, env)
        self.log_path = log_path
        self._events: collections.deque[tuple[int, dict]] = collections.deque(maxlen=EVENTS_KEPT)
        self._seq = 0
        self._changed = threading.Condition()

    def spawn(self, **popen_options: Any) -> subprocess.Popen:
        return super().spawn(**child_options(), **popen_options)

    def _pump_err(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with open(self.log_path, "a", encoding="utf-8") as log:
            for line in self.proc.stderr:
                log.write(line)
                log.flush()
                self.stderr_lines.append(line)
                del self.stderr_lines[:-STDERR_TAIL]

    def start(self) -> Self:
        super().start()
        threading.Thread(target=self._collect, daemon=True, name=f"events-{self.log_path.stem}").start()
        return self

    def _collect(self) -> None:
        while True:
            try:
                event = self.next_json(timeout=3600)
            except TimeoutError:
                continue
            except (EOFError, ValueError):
                return
            with self._changed:
                self._seq += 1
                self._events.append((self._seq, event))
                self._changed.notify_all()

    @property
    def last_seq(self) -> int:
        """Number of the latest event; pass it to ``wait_event(after=…)`` to wait for a newer one."""
        with self._changed:
            return self._seq

    def events(self, after: int = 0) -> list[tuple[int, dict]]:
        with self._changed:
            return [(n, e) for n, e in self._events if n > after]

    def wait_event(self, predicate: Callable[[dict], bool], timeout: float, after: int = 0) -> dict:
        """The first event numbered above ``after`` that satisfies ``predicate``. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for n, event in self._events:
                    if n > after and predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching event from {self.log_path.stem} within {timeout} s")
                self._changed.wait(remaining)


class HallSim(LoggedProcess):
    """``kiosk-sim ARGS…`` as a hall child."""

    def __init__(self, *args: str, log_dir: Path, ready_timeout: float = 20.0) -> None:
        super().__init__([sys.executable, "-m", "simulators", *args], log_dir / f"sim-{args[0]}.log", ready_timeout)


class Terminal(LoggedProcess):
    """``kiosk run --config FILE``: ready when it prints its URL; stopped by SIGTERM (it reads no stdin)."""

    def __init__(self, config: Path, log_dir: Path, ready_timeout: float = 40.0) -> None:
        code = "import sys; from kiosk.cli.main import main; sys.exit(main())"
        super().__init__([sys.executable, "-c", code, "run", "--config", str(config)],
                         log_dir / "terminal.log", ready_timeout)

    @property
    def url(self) -> str:
        return str(self.ready.get("url", ""))

    def stop(self, timeout: float = 10.0) -> int:
        proc = self.proc
        if proc is None:
            return 0
        terminate(proc, timeout)
        return proc.returncode


class HallBroker(Broker):
    """The hall's mosquitto, in its own session like the other children, with its configuration,
    persistence and log under ``home`` (the hall's workdir) rather than a temporary folder."""

    def __init__(self, home: Path | None = None) -> None:
        # Started as root, mosquitto switches to its own user, and a change of user clears the
        # parent-death signal: stay the same user so that it dies with the hall even on SIGKILL.
        super().__init__(extra_conf=f"user {getpass.getuser()}\n")
        if home is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = home
            self.dir.mkdir(parents=True, exist_ok=True)
            self.log = self.dir / "mosquitto.log"
        self._keep = home is not None

    def cleanup(self) -> None:
        """Stops mosquitto; a ``home`` folder stays (its log is part of the hall's outputs)."""
        if self._keep:
            self.stop()
        else:
            super().cleanup()

    def spawn(self, argv: list[str], log) -> subprocess.Popen:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, **child_options())

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
