"""``kiosk-device ioboard`` against the simulator, as a technician runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.ioboard import FirmwareImage
from kiosk.trust.signing import toml_tables
from simulators.central.signing import COMMAND_KEY, KeyRing
from tests.ioboard.conftest import start_sim

pytestmark = [pytest.mark.integration]

CLI = [sys.executable, "-c", "from kiosk.cli.device import main; raise SystemExit(main())", "ioboard"]
FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "io_board"


def kiosk_device(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


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
        line = proc.stdout.readline()
        if not line:    # it ended without a line: say why (its stderr), not json.loads('')
            _, err = proc.communicate(timeout=20)
            pytest.fail(f"listen ended with status {proc.returncode} before its first line: {err}")
        first = json.loads(line)  # connected: the board's state comes first
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


# ---- kiosk-device ioboard update ----------------------------------------------------------------

def firmware_folder(folder: Path, keys: KeyRing | None, *, version: str = "1.1.0", key_id: str = COMMAND_KEY) -> Path:
    """A firmware folder as central ships it: the files and firmware.json (version, size and SHA-256
    of each file), signed by central's command key (``keys`` None: unsigned)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"version.py": f"FIRMWARE_VERSION = ({version.replace('.', ', ')})\n".encode(),
             "watchdog.py": (FIRMWARE / "watchdog.py").read_bytes() + b"# rebuilt\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest: dict = FirmwareImage.of(files, version).manifest()
    if keys is not None:
        manifest = keys.sign(manifest, key_id)
    (folder / "firmware.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def central_keys(tmp_path: Path) -> tuple[KeyRing, Path]:
    """Central's signing keys and a terminal configuration that accepts its command key."""
    keys = KeyRing(tmp_path / "central-keys").ensure(COMMAND_KEY)
    config = tmp_path / "kiosk.toml"
    config.write_text(toml_tables({"command_keys": keys.public_keys(), "catalog_keys": {}}))
    return keys, config


def test_update_from_a_signed_folder(tmp_path: Path, central_keys) -> None:
    keys, config = central_keys
    folder = firmware_folder(tmp_path / "fw", keys)
    sim = start_sim("micropython", "--flash", str(tmp_path / "flash"), "--trial", "3")
    try:
        result = kiosk_device("update", "--port", sim.port, "--files", str(folder), "--config", str(config),
                              "--restart-timeout", "20", timeout=60)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert (out["updated"], out["previous"], out["version"]) == (True, "1.0.0", "1.1.0")
        assert out["files"] == ["version.py", "watchdog.py"]
        assert f"signed by {COMMAND_KEY}" in result.stderr
        assert sim.wait_json(lambda o: "firmware" in o)["firmware"] == "1.1.0"
        assert json.loads(kiosk_device("status", "--port", sim.port).stdout)["firmware"] == "1.1.0"
    finally:
        sim.stop()


def test_unsigned_wrongly_signed_or_truncated_firmware_is_refused(tmp_path: Path, central_keys) -> None:
    """Refused before the port is even opened: the port here does not exist (that would be status 4)."""
    keys, config = central_keys
    other = KeyRing(tmp_path / "someone-else").ensure(COMMAND_KEY, "cmd-9999")
    port = str(tmp_path / "no-board")
    cases = {
        "unsigned": (firmware_folder(tmp_path / "a", None), "unsigned"),
        "wrong key": (firmware_folder(tmp_path / "b", other), "bad signature"),
        "unknown key id": (firmware_folder(tmp_path / "c", other, key_id="cmd-9999"), "unknown key id"),
    }
    truncated = firmware_folder(tmp_path / "d", keys)
    (truncated / "watchdog.py").write_bytes((truncated / "watchdog.py").read_bytes()[:100])
    cases["truncated"] = (truncated, "watchdog.py: 100 bytes, the manifest says")
    altered = firmware_folder(tmp_path / "e", keys)
    (altered / "version.py").write_bytes(b"FIRMWARE_VERSION = (6, 6, 6)\n")
    cases["altered"] = (altered, "SHA-256 differs")
    for case, (folder, says) in cases.items():
        result = kiosk_device("update", "--port", port, "--files", str(folder), "--config", str(config))
        assert result.returncode == 5, (case, result.stderr)
        assert "ioboard_firmware_input" in result.stderr and says in result.stderr, (case, result.stderr)
    result = kiosk_device("update", "--port", port, "--files", str(tmp_path / "a"))
    assert result.returncode == 5 and "give --config" in result.stderr
