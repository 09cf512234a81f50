"""Child processes that announce themselves with a JSON ready line (every ``kiosk-sim`` simulator):
start, wait for the line, talk on stdin, read further JSON lines, and always stop (quit, terminate, kill)."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Self


def terminate(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


class ManagedProcess:
    """A child that prints a JSON ready line on stdout, then takes line commands on stdin."""

    def __init__(self, argv: list[str], ready_timeout: float = 15.0, env: dict | None = None) -> None:
        self.args = list(argv)
        self.ready_timeout = ready_timeout
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.ready: dict[str, Any] = {}
        self._lines: queue.Queue[str] = queue.Queue()
        self.stderr_lines: list[str] = []

    @property
    def port(self) -> str:
        return self.ready["port"]

    def spawn(self, **popen_options: Any) -> subprocess.Popen:
        """Starts the child with pipes on stdin/stdout/stderr; a subclass may add Popen options
        (the hall puts its children in their own session so that Ctrl-C reaches only the hall)."""
        return subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env, text=True, bufsize=1, **popen_options)

    def start(self) -> Self:
        self.proc = self.spawn()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()
        try:
            self.ready = self.next_json(self.ready_timeout)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"{self.args[1:4]} not ready: {''.join(self.stderr_lines)[-2000:]}") from exc
        return self

    @staticmethod
    def _pump(stream, out: queue.Queue[str]) -> None:
        for line in stream:
            out.put(line)
        out.put("")  # end of stream

    def _pump_err(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def next_json(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next JSON line the simulator printed; TimeoutError if none came in time."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line from simulator within {timeout} s")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line == "":
                raise EOFError(f"simulator ended: {''.join(self.stderr_lines)[-2000:]}")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def wait_json(self, predicate, timeout: float = 5.0) -> dict[str, Any]:
        """Skips lines until one satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            obj = self.next_json(max(0.01, deadline - time.monotonic()))
            if predicate(obj):
                return obj

    def send(self, command: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self, timeout: float = 5.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            try:
                self.send("quit")
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                terminate(self.proc, timeout)
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SimProcess(ManagedProcess):
    """``kiosk-sim ARGS…`` under the current interpreter."""

    def __init__(self, *args: str, ready_timeout: float = 15.0, env: dict | None = None) -> None:
        super().__init__([sys.executable, "-m", "simulators", *args], ready_timeout, env)
