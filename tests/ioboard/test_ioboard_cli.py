"""``kiosk-device ioboard`` against the simulator, as a technician runs it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.ioboard.conftest import start_sim

pytestmark = [pytest.mark.integration]

CLI = [sys.executable, "-c", "from kiosk.cli.device import main; raise SystemExit(main())", "ioboard"]


def kiosk_device(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cpy_sim():
    proc = start_sim("cpython")
    try:
        yield proc
    finally:
        proc.stop()


def test_status_light_and_buzz(cpy_sim) -> None:
    result = kiosk_device("status", "--port", cpy_sim.port)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["connected"] and status["firmware"] == "1.0.0" and status["tamper"] == "closed"
    assert status["light"] == "yellow" and status["watchdog"] == "grace"
    result = kiosk_device("light", "red", "fast", "--port", cpy_sim.port)
    assert result.returncode == 0, result.stderr
    assert cpy_sim.wait_json(lambda o: "light" in o) == {"light": "red", "pattern": "fast"}
    result = kiosk_device("buzz", "double", "--port", cpy_sim.port)
    assert result.returncode == 0, result.stderr
    assert cpy_sim.wait_json(lambda o: "buzzer" in o) == {"buzzer": "double"}


def test_listen_prints_input_events(cpy_sim) -> None:
    proc = subprocess.Popen([*CLI, "listen", "--count", "2", "--timeout", "20", "--port", cpy_sim.port],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # connected: the board's state comes first
        assert first["event"] == "board_status"
        cpy_sim.send("tamper open")
        cpy_sim.send("press help")
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    events = [json.loads(line) for line in out.splitlines()]
    assert {"event": "tamper", "value": "open"} in events
    assert events[-1] == {"event": "help", "value": "pressed"}
    assert proc.returncode == 0, err


def test_device_errors_have_exit_status_4(tmp_path) -> None:
    result = kiosk_device("status", "--port", str(tmp_path / "missing"))
    assert result.returncode == 4
    assert "ioboard_not_connected" in result.stderr


def test_listen_times_out_with_status_3(cpy_sim) -> None:
    result = kiosk_device("listen", "--count", "1", "--timeout", "1", "--port", cpy_sim.port)
    assert result.returncode == 3, result.stderr
    assert "0 of 1" in result.stderr
