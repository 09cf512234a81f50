"""A terminal as the update tests need it: its configuration (a real broker and central simulator, loopback
web port, an update root of its own), the first version installed from a real bundle by the repository's
``kiosk update install``, and its service run by ServiceHost."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.update import state as journal
from kiosk.update.slots import Layout
from tests.support.net import free_port
from tests.update.service import ServiceHost, child_env, restart_command

REPO = Path(__file__).resolve().parents[2]
KIOSK = Path(sys.executable).parent / "kiosk"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


@dataclass
class Terminal:
    home: Path
    device_id: str
    broker_url: str
    catalog: Path
    command_keys: dict[str, str]
    update_keys: dict[str, str]
    window_s: float = 60.0
    ioboard: str = ""
    host: ServiceHost | None = None
    versions_given: int = 1
    board_flash: Path | None = None
    install_seconds: list[float] = field(default_factory=list)   # uninterrupted installs that succeeded

    def __post_init__(self) -> None:
        for name in ("data", "logs"):
            (self.home / name).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.write_config()

    @property
    def root(self) -> Path:
        return self.home / "root"

    @property
    def layout(self) -> Layout:
        return Layout(self.root)

    @property
    def config(self) -> Path:
        return self.home / "kiosk.toml"

    @property
    def spool(self) -> Path:
        return self.home / "data" / "update"

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/status"

    def write_config(self, **update: Any) -> None:
        window = update.get("health_window_s", self.window_s)
        tables: dict[str, dict[str, Any]] = {
            "device": {"id": self.device_id, "site_id": "511902-HALL-01", "data_dir": str(self.home / "data")},
            "devices": {"ioboard": self.ioboard},
            "catalog": {"file": str(self.catalog)},
            "web": {"port": self.port},
            "update": {"root": str(self.root), "health_window_s": window, "confirm_s": 1.0,
                       "restart_command": restart_command(self.home / "logs" / "kiosk.pid")},
            "diagnostics": {"log_source": f"file:{self.home / 'logs' / 'kiosk.log'}"},
            "sync": {"mqtt_url": self.broker_url, "min_free_mb": 1, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
            "sync.command_keys": self.command_keys,
            "sync.update_keys": self.update_keys,
        }
        lines = []
        for name, body in tables.items():
            lines.append(f"[{name}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in body.items()]
        self.config.write_text("\n".join(lines) + "\n", "utf-8")

    # -- the technician's command line ----------------------------------------------------------------
    def update_cli(self, *args: str, from_repo: bool = False, timeout: float = 300.0) -> subprocess.CompletedProcess:
        """``kiosk update ARGS``: from the installed ``good`` slot (as on a terminal), or from this
        repository's environment (the very first install)."""
        exe = KIOSK if from_repo else self.root / "good" / "venv" / "bin" / "kiosk"
        started = time.monotonic()
        done = subprocess.run([str(exe), "update", *args, "--config", str(self.config)], capture_output=True,
                              text=True, timeout=timeout, env=child_env(), check=False)
        if args[:1] == ("install",) and not from_repo and done.returncode == 0:
            self.install_seconds.append(time.monotonic() - started)
        return done

    def install_first(self, bundle: Path) -> None:
        done = self.update_cli("install", "--from", str(bundle), from_repo=True)
        assert done.returncode == 0, done.stderr

    def next_version(self) -> str:
        """A version newer than any this terminal was given (0.2.0, 0.3.0, …)."""
        self.versions_given += 1
        return f"0.{self.versions_given}.0"

    def start(self) -> ServiceHost:
        self.host = ServiceHost(self.root, self.config, self.home / "logs", self.spool, self.status_url).start()
        return self.host

    def stop(self) -> None:
        if self.host is not None:
            self.host.stop()

    def state(self) -> journal.UpdateState:
        loaded = journal.load(self.layout.journal)
        assert loaded is not None
        return loaded

    def links(self) -> tuple[str | None, str | None]:
        return self.layout.linked(self.layout.current), self.layout.linked(self.layout.good)
