"""The hall's SIGINT/SIGTERM handler: while the hall starts it interrupts at once; once the hall serves it only
asks the serving loop to stop, so that no KeyboardInterrupt can land inside the terminal's ``Popen.poll()``
(which leaves the Popen's wait lock taken and makes the terminal's stop run out its timeouts)."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulators.hall.children import Terminal
from simulators.hall.cli import StopSignal, _wait_forever
from simulators.hall.control import HallControl
from simulators.hall.stack import Hall, sample_file


def hall_with_terminal(tmp_path: Path, argv: list[str]) -> tuple[HallControl, Terminal]:
    hall = Hall(workdir=tmp_path, catalog=sample_file("catalog-sample.json"),
                identities=sample_file("identities-sample.json"))
    hall.logs_dir.mkdir(parents=True, exist_ok=True)
    terminal = Terminal(tmp_path / "terminal.toml", hall.logs_dir)
    terminal.proc = subprocess.Popen(argv)    # a real child in the terminal's place: only its exit matters here
    hall.terminal = terminal
    return HallControl(hall), terminal


def test_a_signal_interrupts_the_start_and_only_flags_a_serving_hall() -> None:
    stop = StopSignal()
    with pytest.raises(KeyboardInterrupt):
        stop(signal.SIGINT, None)
    assert stop.requested
    serving = StopSignal()
    serving.serving()
    serving(signal.SIGTERM, None)                 # no exception wherever the main thread is
    assert serving.requested


def test_the_serving_loop_ends_on_a_signal_and_the_terminal_is_still_reapable(tmp_path: Path) -> None:
    control, terminal = hall_with_terminal(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"])
    stop = StopSignal()
    try:
        threading.Timer(0.3, stop, (signal.SIGINT, None)).start()
        started = time.monotonic()
        assert _wait_forever(control, stop) == 0
        assert time.monotonic() - started < 30
        terminal.stop(timeout=10)
        assert terminal.proc is not None and terminal.proc.returncode is not None
    finally:
        if terminal.proc is not None and terminal.proc.poll() is None:
            terminal.proc.kill()
            terminal.proc.wait(10)


def test_the_serving_loop_reports_a_terminal_that_ended_by_itself(tmp_path: Path) -> None:
    control, terminal = hall_with_terminal(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    assert _wait_forever(control, StopSignal()) == 1
    assert terminal.proc is not None and terminal.proc.wait(10) == 3
