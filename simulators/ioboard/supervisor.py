"""The simulated board's power and reset button: runs the firmware child, forwards its JSON lines, and
starts it again after a reset it asked for (exit status RESET_EXIT) or a power cut (SIGKILL), as the
board boots again. The input pins are levels in the world outside the board, so they are set again in
every new child."""
from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time

from simulators.link import emit

RESET_EXIT = 75  # fwsim/simboard.py ends the firmware with it for machine.reset()
READY_TIMEOUT_S = 20.0
CAUSE_POWER_ON, CAUSE_OTHER = 0, 2  # reset causes as the firmware reports them (EVENT boot)


class FirmwareSupervisor:
    def __init__(self, command: list[str], settings: list[str], env: dict[str, str], stop: threading.Event) -> None:
        self.command, self.settings, self.env, self.stop = command, settings, env, stop
        self.child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._pins: dict[str, str] = {}  # pin name -> last "set" line
        self._early: list[dict] = []     # lines before the first start, emitted after the ready line
        self._lines: queue.Queue[str | None] = queue.Queue()  # the current child's stdout; None: it ended
        self._status = 0

    def _spawn(self, cause: int) -> subprocess.Popen[str]:
        child = subprocess.Popen([*self.command, str(cause), *self.settings], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=self.env, text=True, bufsize=1)
        self.child = child
        self._lines = queue.Queue()
        threading.Thread(target=self._pump, args=(child, self._lines), name="firmware-stdout", daemon=True).start()
        for line in self._pins.values():
            self._write(child, line)
        return child

    @staticmethod
    def _pump(child: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    def boot(self) -> dict | None:
        """Powers the board on; its start line (``{"firmware": …}``), or None if it never came."""
        self._spawn(CAUSE_POWER_ON)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            obj = _json(line)
            if obj is not None and isinstance(obj.get("firmware"), str):
                return obj
            if obj is not None:
                self._early.append(obj)

    def start_supervising(self) -> None:
        for obj in self._early:
            emit(obj)
        threading.Thread(target=self._supervise, name="firmware-supervisor", daemon=True).start()

    def _supervise(self) -> None:
        while True:
            child, lines = self.child, self._lines
            assert child is not None
            for line in iter(lines.get, None):
                obj = _json(line)
                if obj is not None:
                    emit(obj)
                elif line.strip():
                    print(f"firmware: {line.strip()}", file=sys.stderr, flush=True)
            code = child.wait()
            if self.stop.is_set():
                return
            if code == RESET_EXIT:
                cause, why = CAUSE_OTHER, "reset"
            elif code == -signal.SIGKILL:
                cause, why = CAUSE_POWER_ON, "power"
            else:  # the firmware died on its own: a real board would sit in its REPL
                emit({"board": "stopped", "exit": code})
                self._status = 1
                self.stop.set()
                return
            emit({"board": "restarted", "cause": why})
            with self._lock:
                self._spawn(cause)

    def send(self, line: str) -> None:
        """A command for the simulated board (pin levels are remembered for the next start)."""
        words = line.split()
        if words[0] == "set":
            self._pins[words[1]] = line
        with self._lock:
            if self.child is not None:
                self._write(self.child, line)

    @staticmethod
    def _write(child: subprocess.Popen[str], line: str) -> None:
        try:
            assert child.stdin is not None
            child.stdin.write(line + "\n")
            child.stdin.flush()
        except (OSError, ValueError):
            pass  # the child is going down; the next one gets the pin levels again

    def power_cycle(self) -> None:
        with self._lock:
            if self.child is not None and self.child.poll() is None:
                self.child.kill()

    def exit_status(self) -> int:
        return self._status

    def shutdown(self) -> None:
        with self._lock:
            child = self.child
        if child is None or child.poll() is not None:
            return
        try:
            assert child.stdin is not None
            child.stdin.write("quit\n")
            child.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            child.wait(3)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(3)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(3)


def _json(line: str) -> dict | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None
