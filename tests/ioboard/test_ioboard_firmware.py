"""The IO board firmware checked the way CI can without the board: every file compiles with mpy-cross,
and the firmware's own test scripts run under the real MicroPython unix port (exit status 1 = failure),
the soak with the heap of an RP2040 board."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware" / "io_board"
SIM_BOARD = REPO / "simulators" / "ioboard" / "fwsim"
MP_TESTS = Path(__file__).resolve().parent / "mp"
BIN = Path(sys.executable).parent
MICROPYTHON = BIN / "micropython"
MPY_CROSS = BIN / "mpy-cross"

pytestmark = pytest.mark.micropython


def micropython_sources() -> list[Path]:
    """Every file that must run under MicroPython: the firmware, the simulator's board support that the
    firmware runs on under the unix port, and the firmware test scripts."""
    return sorted([*FIRMWARE.glob("*.py"), *SIM_BOARD.glob("*.py"), *MP_TESTS.glob("*.py")])


def test_firmware_files_exist() -> None:
    names = {p.name for p in FIRMWARE.glob("*.py")}
    assert {"board.py", "app.py", "main.py", "frames.py", "crc16.py"} <= names


@pytest.mark.parametrize("source", micropython_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mpy_cross_compiles(source: Path, tmp_path: Path) -> None:
    out = tmp_path / (source.stem + ".mpy")
    result = subprocess.run([str(MPY_CROSS), "-o", str(out), str(source)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


def test_mpy_cross_rejects_a_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n    pass\n")
    result = subprocess.run([str(MPY_CROSS), str(bad)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0


def run_micropython(script: Path, *args: str, options: tuple[str, ...] = (), timeout: float = 60) \
        -> subprocess.CompletedProcess:
    env = {**os.environ, "MICROPYPATH": f"{FIRMWARE}:{MP_TESTS}"}
    return subprocess.run([str(MICROPYTHON), *options, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


@pytest.mark.parametrize("script", ["mp_protocol.py", "mp_logic.py", "mp_app.py", "mp_update.py"])
def test_firmware_suite_under_micropython(script: str, tmp_path: Path) -> None:
    result = run_micropython(MP_TESTS / script, str(REPO / "docs" / "ioboard-protocol.md"), str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout


@pytest.mark.slow
def test_thirty_days_of_ticks_without_allocation(tmp_path: Path) -> None:
    """The whole loop for 30 days of board time across the tick wrap, in a Pico-sized heap (192 KiB):
    gc.mem_free() does not move with the collector off, no number leaves the small ints."""
    result = run_micropython(MP_TESTS / "mp_soak.py", str(REPO / "docs" / "ioboard-protocol.md"), str(tmp_path),
                             "30", options=("-X", "heapsize=192K"), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 0 failed" in result.stdout


def test_micropython_reports_failures(tmp_path: Path) -> None:
    """The harness above can fail: a failing check gives exit status 1 under the real interpreter."""
    script = tmp_path / "mp_fails.py"
    script.write_text("from mptest import check, run\n\n"
                      "def test_no():\n    check(False, 'expected')\n\nrun([test_no])\n")
    result = run_micropython(script)
    assert result.returncode == 1
    assert "FAIL test_no" in result.stdout


def test_real_board_module_loads_on_the_unix_port() -> None:
    """board.py guards its imports: it loads where machine.Pin is missing and says why it cannot run."""
    script = "import board\ntry:\n    board.Board()\nexcept RuntimeError as e:\n    print('refused', e)\n"
    env = {**os.environ, "MICROPYPATH": str(FIRMWARE)}
    result = subprocess.run([str(MICROPYTHON), "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    assert "refused" in result.stdout
