"""What systemd does on a terminal, played for the tests with real processes: ``kiosk.service``
(``<root>/current/venv/bin/kiosk run``, Restart=always) and ``kiosk-update.path`` + ``kiosk-update.service``
(when the service leaves ``request.json``, ``<root>/good/venv/bin/kiosk update resume`` runs, again after
a failure). The installer restarts the service the way a test's configuration says: by signalling the
pid in ``kiosk.pid`` (systemd's Restart=always brings it back)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

RESTART_S = 0.5


def child_env() -> dict[str, str]:
    """The environment of the terminal's processes: nothing of the test's Python or pip settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "KIOSK_", "PYTEST"))}


def restart_command(pidfile: Path) -> str:
    return f"/bin/sh -c 'kill -TERM \"$(cat {pidfile})\"'"


class ServiceHost:
    """Runs the terminal's service from ``<root>/current`` until stopped, and the installer on request."""

    def __init__(self, root: Path, config: Path, logs: Path, spool: Path, status_url: str) -> None:
        self.root, self.config, self.logs, self.spool, self.status_url = root, config, logs, spool, status_url
        self.pidfile = logs / "kiosk.pid"
        self.starts = 0
        self.updater_runs = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._service: subprocess.Popen[bytes] | None = None
        self._updater: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> ServiceHost:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._run_service, daemon=True, name="svc-kiosk"),
                         threading.Thread(target=self._watch_requests, daemon=True, name="svc-update-path")]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stops the service (SIGTERM, then SIGKILL) and any installer the host started."""
        self._stop.set()
        for proc in (self._service, self._updater):
            _terminate(proc)
        for thread in self._threads:
            thread.join(15)

    def power_loss(self) -> None:
        """Everything dies at once (SIGKILL), as when the power goes; ``start`` is the next boot."""
        self._stop.set()
        for proc in (self._service, self._updater):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for thread in self._threads:
            thread.join(15)

    def restart_service(self) -> None:
        """What ``systemctl restart kiosk.service`` does here: the running process is stopped (SIGTERM)
        and Restart=always starts it again, with whatever configuration and ``current`` there are now."""
        _terminate(self._service)

    # -- kiosk.service --------------------------------------------------------------------------------
    def _run_service(self) -> None:
        while not self._stop.is_set():
            argv = [str(self.root / "current" / "venv" / "bin" / "kiosk"), "run", "--config", str(self.config)]
            with open(self.logs / "kiosk.log", "ab") as log:
                try:
                    proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=child_env())
                except OSError:
                    self._stop.wait(RESTART_S)
                    continue
            with self._lock:
                self._service = proc
                self.starts += 1
            self.pidfile.write_text(str(proc.pid))
            while proc.poll() is None and not self._stop.is_set():
                time.sleep(0.1)
            if self._stop.is_set():
                return
            self._stop.wait(RESTART_S)

    # -- kiosk-update.path / kiosk-update.service ----------------------------------------------------
    def _watch_requests(self) -> None:
        request = self.spool / "request.json"
        while not self._stop.wait(0.3):
            if not request.exists():
                continue
            self.run_updater("resume")

    def run_updater(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[bytes]:
        """``<root>/good/venv/bin/kiosk update ARGS`` to its end (as kiosk-update.service runs it)."""
        argv = [str(self.root / "good" / "venv" / "bin" / "kiosk"), "update", *args, "--config", str(self.config)]
        with open(self.logs / "updater.log", "ab") as log:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                    env=child_env())
            with self._lock:
                self._updater = proc
                self.updater_runs += 1
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
        return subprocess.CompletedProcess(argv, proc.returncode, out, b"")

    # -- observing --------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(self.status_url, timeout=3) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def wait_version(self, version: str, timeout: float, online: bool = True) -> dict[str, Any]:
        """The service's status once it answers as ``version`` (and with sync connected)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.status()
            if last is not None and last.get("version") == version and (last.get("online") or not online):
                return last
            time.sleep(0.3)
        raise AssertionError(f"the service did not answer as {version} within {timeout} s; last: {last}; "
                             f"log: {self.log_tail()}")

    def log_tail(self, name: str = "kiosk.log", chars: int = 1500) -> str:
        try:
            return (self.logs / name).read_text("utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def _terminate(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
