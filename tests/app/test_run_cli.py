"""``kiosk run`` as a process: ready line, READY=1 and WATCHDOG=1 to a systemd notify socket, the UI
served on loopback, clean exit on SIGTERM; and a clear error for a bad configuration."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.support.kioskapi import token_headers
from tests.support.net import free_port

pytestmark = pytest.mark.integration
CODE = "import sys; from kiosk.cli.main import main; sys.exit(main())"


def test_run_serves_notifies_systemd_and_stops_on_sigterm(tmp_path, catalog_file):
    notify_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(15)
    port = free_port()
    env = {**os.environ, "KIOSK_SYNC_ENABLED": "false", "KIOSK_WEB_PORT": str(port),
           "KIOSK_DEVICE_DATA_DIR": str(tmp_path), "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-c", CODE, "run", "--catalog", str(catalog_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["url"] == f"http://127.0.0.1:{port}/" and ready["catalog"] == 1
        messages = {sock.recv(4096).decode().split("\n")[0] for _ in range(2)}
        assert {"READY=1", "WATCHDOG=1"} <= messages
        with urllib.request.urlopen(ready["url"] + "api/status", timeout=5) as resp:
            assert json.loads(resp.read())["catalog_version"] == 1
        assert list((tmp_path / "catalog").glob("file-*.sqlite"))  # compiled once, opened from disk next time
        touch = urllib.request.Request(ready["url"] + "api/session/touch", data=b"{}", method="POST",
                                       headers=token_headers(ready["url"]))
        urllib.request.urlopen(touch, timeout=5).close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        from kiosk.audit import AuditLog

        with AuditLog(tmp_path / "audit.db", readonly=True) as trail:
            assert [r.action for r in trail.records()] == ["session.start", "session.end"]
            assert trail.verify().ok
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
        sock.close()


def test_run_refuses_a_bad_configuration(tmp_path):
    env = {**os.environ, "KIOSK_WEB_HOST": "0.0.0.0"}
    result = subprocess.run([sys.executable, "-c", CODE, "run"], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 2
    assert "web.host" in result.stderr and "loopback" in result.stderr
