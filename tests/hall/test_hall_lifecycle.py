"""``kiosk-sim hall`` starts every part and, on SIGTERM or Ctrl-C, stops all of them: no process it
started outlives it. ``--devices-only`` reads a card and a scan through the real drivers."""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from simulators.hall.net import free_port
from simulators.hall.stack import start_hall, start_terminal
from tests.hall.conftest import KIOSK_SIM, alive, descendants, get_json, wait_until

pytestmark = pytest.mark.integration


class HallCommand:
    """``kiosk-sim hall ARGS`` as a child; stdout lines collected in a thread."""

    def __init__(self, *args: str) -> None:
        # PYTHONFAULTHANDLER: a hall that does not stop is sent SIGABRT and prints where its threads are.
        self.proc = subprocess.Popen([*KIOSK_SIM, "hall", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_line(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}; output: {''.join(self.output)[-3000:]}")

    def wait_exit(self, timeout: float) -> int:
        """The hall's exit status; AssertionError with its threads' stacks and its output after ``timeout``."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)  # the pump thread collects the dump
            raise AssertionError(f"the hall did not exit within {timeout} s: {''.join(self.output)[-6000:]}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_every_process_of_the_hall(tmp_path: Path, sig: int):
    hall = HallCommand("--port", str(free_port()), "--workdir", str(tmp_path))
    children: set[int] = set()
    try:
        terminal = hall.wait_line(r"Terminal:\s+(http://\S+)", 60).group(1)
        panel = hall.wait_line(r"Hall control panel:\s+(http://\S+)", 10).group(1)
        assert get_json(terminal + "api/status")["catalog_version"]
        with urllib.request.urlopen(panel, timeout=5) as response:
            assert response.status == 200
        children = descendants(hall.proc.pid)
        # mosquitto, central, four device simulators (+ the firmware under the IO board's), the terminal
        assert len(children) >= 7
        hall.proc.send_signal(sig)
        assert hall.wait_exit(60) == 0
        wait_until(lambda: not [pid for pid in children if alive(pid)], 10, "children gone")
        assert "Outputs kept in" in "".join(hall.output)  # --workdir given: never deleted
        assert (tmp_path / "terminal.toml").is_file() and (tmp_path / "logs" / "terminal.log").is_file()
    finally:
        hall.kill()
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_children_die_with_the_hall_even_on_sigkill(tmp_path: Path):
    hall = HallCommand("--port", str(free_port()), "--workdir", str(tmp_path))
    children: set[int] = set()
    try:
        hall.wait_line(r"Hall control panel:\s+(http://\S+)", 60)
        children = descendants(hall.proc.pid)
        assert len(children) >= 7
        hall.proc.kill()  # no clean-up code runs: the kernel's parent-death signal does the work
        hall.proc.wait(10)
        try:
            wait_until(lambda: not [pid for pid in children if alive(pid)], 20, "orphans gone")
        except AssertionError:
            survivors = {pid: command_line(pid) for pid in children if alive(pid)}
            raise AssertionError(f"processes outlived the hall: {survivors}") from None
    finally:
        hall.kill()
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


def test_temporary_workdir_is_removed_unless_kept(tmp_path: Path):
    hall = HallCommand("--devices-only")
    try:
        workdir = hall.wait_line(r"Starting the simulated hall in (\S+) ", 30).group(1)
        hall.wait_line(r"Hall control panel", 60)
        hall.proc.send_signal(signal.SIGTERM)
        assert hall.proc.wait(60) == 0
        assert not Path(workdir).exists()
    finally:
        hall.kill()


def test_devices_only_reads_a_card_and_a_scan_through_the_drivers(tmp_path: Path):
    hall = HallCommand("--devices-only", "--headless", "--workdir", str(tmp_path))
    try:
        assert hall.proc.wait(90) == 0, "".join(hall.output)
    finally:
        hall.kill()
    text = "".join(hall.output)
    assert re.search(r"read card 1: \S\* \d{4}\*+\d{3}[\dX] \(resident\)", text), text
    assert "matches the code sent" in text
    assert "DOES NOT" not in text


def test_stop_leaves_no_process_behind(tmp_path: Path):
    hall = start_hall(tmp_path)
    try:
        start_terminal(hall, free_port())
        pids = hall.pids()
        assert len(pids) == 7 and not hall.problems  # broker, central, 4 simulators, terminal
        grandchildren = {pid for child in pids for pid in descendants(child)}
    finally:
        hall.stop()
    assert hall.pids() == []
    wait_until(lambda: not [pid for pid in pids + list(grandchildren) if alive(pid)], 10, "processes gone")
