"""A real mosquitto on a free loopback port, which the hall or a test may stop and start again on the
same port (to play a broker outage) and always stops at the end."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self

from simulators.hall.net import free_port, wait_for_port
from simulators.hall.procs import terminate

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    def __init__(self, port: int | None = None, extra_conf: str = "", persistence: bool = True) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mosq-"))
        self.extra_conf = extra_conf
        self.persistence = persistence
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def write_conf(self) -> Path:
        conf = self.dir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 f"persistence {'true' if self.persistence else 'false'}",
                 f"persistence_location {self.dir}/", "log_dest stderr", "log_type error",
                 "log_type warning", "max_queued_messages 0", "max_inflight_messages 0"]
        conf.write_text("\n".join(lines) + "\n" + self.extra_conf)
        return conf

    def spawn(self, argv: list[str], log) -> subprocess.Popen:
        """Starts mosquitto; a subclass may add Popen options (see ManagedProcess.spawn)."""
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)

    def start(self) -> Self:
        conf = self.write_conf()
        with open(self.log, "ab") as log:
            self.proc = self.spawn([MOSQUITTO, "-c", str(conf)], log)
        try:
            wait_for_port(self.port, timeout=10)
        except TimeoutError as exc:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}") from exc
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is not None:
            terminate(self.proc, timeout)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()
