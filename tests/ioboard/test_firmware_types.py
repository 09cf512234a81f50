"""The firmware is type-checked against the RP2040 port's MicroPython stubs (micropython-rp2-rpi-pico-stubs,
whose stdlib replaces CPython's typeshed) with pyright, so that nothing CPython-only or unix-port-only
reaches the board. The simulated board support (simulators/ioboard/fwsim) is unix-only and stays out.

pyright is given MicroPython itself as the interpreter, so that no CPython standard library is on its
search path: a module resolves only from the stubs. firmware/pyrightconfig.json holds the rules (editors
use it as it is); the test runs them with the paths of the interpreter that runs the tests."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware" / "io_board"
CONFIG = REPO / "firmware" / "pyrightconfig.json"
PYRIGHT = Path(sys.executable).parent / "pyright"
MICROPYTHON = Path(sys.executable).parent / "micropython"


def stubs_root() -> Path:
    """The folder whose ``stdlib/`` holds MicroPython's standard library stubs (a typeshed layout)."""
    dist = distribution("micropython-stdlib-stubs")
    builtins = next(f for f in dist.files or [] if str(f) == "stdlib/builtins.pyi")
    return Path(str(dist.locate_file(builtins))).parents[1]


def pyright(tmp_path: Path, folder: Path) -> dict:
    """pyright with the repository's rules on ``folder``."""
    stubs = str(stubs_root())
    config = json.loads(CONFIG.read_text())
    config.update({"include": [str(folder)], "typeshedPath": stubs, "extraPaths": [stubs]})
    project = tmp_path / "pyrightconfig.json"
    project.write_text(json.dumps(config))
    # --outputjson keeps the wrapper from looking up newer versions: it runs the pyright it bundles
    # with the system's node, offline.
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    result = subprocess.run([str(PYRIGHT), "--outputjson", "-p", str(project), "--pythonpath", str(MICROPYTHON)],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.stdout.strip().startswith("{"), result.stdout + result.stderr
    return json.loads(result.stdout)


def errors(report: dict) -> list[str]:
    return [f"{Path(d['file']).name}:{d['range']['start']['line'] + 1}: {d['message']}"
            for d in report["generalDiagnostics"] if d["severity"] == "error"]


def test_firmware_type_checks_against_the_rp2_stubs(tmp_path: Path) -> None:
    folder = tmp_path / "io_board"  # pyright checks only files under its project's folder
    shutil.copytree(FIRMWARE, folder)
    report = pyright(tmp_path, folder)
    assert errors(report) == []
    assert report["summary"]["filesAnalyzed"] == len(list(FIRMWARE.glob("*.py")))


# One line each that the RP2040 cannot run, and a word the checker's complaint must contain.
CANARIES = {
    "canary_clock.py": ("import time\nprint(time.monotonic())\n", "monotonic"),  # CPython's clock
    "canary_termios.py": ("import termios\n", "termios"),                        # the unix port's
    "canary_threads.py": ("import threading\n", "threading"),                    # CPython's
    "canary_wdt.py": ("import machine\nmachine.WDT(timeout=5000).feed(1)\n", "positional"),  # API misused
}


def test_the_check_catches_what_the_board_lacks(tmp_path: Path) -> None:
    """The same check on a copy of the firmware with files the RP2040 cannot run: each is reported,
    nothing else is."""
    folder = tmp_path / "io_board"
    shutil.copytree(FIRMWARE, folder)
    for name, (line, _) in CANARIES.items():
        (folder / name).write_text(line)
    found = errors(pyright(tmp_path, folder))
    assert all(message.split(":")[0] in CANARIES for message in found), found
    for name, (_, word) in CANARIES.items():
        assert any(message.startswith(name) and word in message for message in found), (name, found)


def board_modules() -> set[str]:
    """Top-level modules the RP2040 stubs describe (builtin modules of the port and its stdlib)."""
    names = set()
    for dist_name in ("micropython-rp2-rpi-pico-stubs", "micropython-stdlib-stubs"):
        for file in distribution(dist_name).files or []:
            parts = file.parts
            if parts[0] == "stdlib":
                parts = parts[1:]
            if parts and file.suffix == ".pyi" and not parts[0].startswith("_"):
                names.add(parts[0].removesuffix(".pyi"))
    return names


def test_firmware_imports_only_board_modules() -> None:
    """pyright sees the stubs beside the tests' own packages: a firmware import of e.g. ``serial`` would
    resolve there, so every imported module must be the firmware's own or one the board has."""
    own = {p.stem for p in FIRMWARE.glob("*.py")}
    allowed = own | board_modules()
    for source in FIRMWARE.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in allowed, f"{source.name} imports {module}"
    assert {"machine", "time", "os", "hashlib", "select", "micropython"} <= allowed
    assert "serial" not in allowed and "threading" not in allowed
