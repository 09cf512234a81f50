"""Starts the simulated hall in order — mosquitto, the central simulator, each device simulator, then the
terminal — and stops it in reverse. A device simulator that fails to start is reported and left out,
as a missing device would be on a real terminal."""
from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from simulators.hall.children import HallBroker, HallSim, Terminal
from simulators.hall.terminal_config import write_terminal_config

log = logging.getLogger("simulators.hall")

DEVICE_ID = "KSK-511902-0007"
SITE_ID = "511902-HALL-01"
SERIAL_DEVICES = ("idcard", "scanner", "printer", "ioboard")


def sample_file(name: str) -> Path:
    """The fictional sample data shipped with the simulators (shared/data, the catalog with aliases added)."""
    import simulators.data  # the package folder, wherever it is installed

    return Path(simulators.data.__file__).resolve().parent / name


@dataclass
class Hall:
    """What is running, and where a terminal finds it."""

    workdir: Path
    catalog: Path
    identities: Path
    broker: HallBroker | None = None
    central: HallSim | None = None
    devices: dict[str, HallSim] = field(default_factory=dict)
    terminal: Terminal | None = None
    config_path: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def receipts_dir(self) -> Path:
        return self.workdir / "receipts"

    @property
    def keys_dir(self) -> Path:
        return self.workdir / "central-keys"

    @property
    def logs_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def central_db(self) -> Path:
        return self.workdir / "central.db"

    @property
    def terminal_dir(self) -> Path:
        return self.workdir / "terminal"

    @property
    def terminal_url(self) -> str:
        return self.terminal.url if self.terminal is not None else ""

    def port(self, device: str) -> str | None:
        proc = self.devices.get(device)
        return proc.port if proc else None

    def send(self, device: str, command: str) -> bool:
        """One stdin command to a simulator ("central" included); False if it is not running."""
        proc = self.central if device == "central" else self.devices.get(device)
        if proc is None or proc.proc is None or proc.proc.poll() is not None:
            return False
        proc.send(command)
        return True

    def pids(self) -> list[int]:
        """Process ids of every child still running (tests check that none outlive the hall)."""
        procs = [self.terminal, self.central, *self.devices.values()]
        found = [p.proc.pid for p in procs if p is not None and p.proc is not None and p.proc.poll() is None]
        if self.broker is not None and self.broker.running:
            found.append(self.broker.proc.pid)  # type: ignore[union-attr]
        return found

    def stop(self) -> None:
        """Stops everything, the terminal first (it drains its session), the broker last."""
        if self.terminal is not None:
            _stop_quietly("terminal", self.terminal.stop)
            self.terminal = None
        for name, proc in reversed(list(self.devices.items())):
            _stop_quietly(f"{name} simulator", proc.stop)
        self.devices.clear()
        if self.central is not None:
            _stop_quietly("central simulator", self.central.stop)
            self.central = None
        if self.broker is not None:
            _stop_quietly("broker", self.broker.cleanup)
            self.broker = None


def _stop_quietly(what: str, stop) -> None:
    try:
        stop()
    except Exception as exc:  # keep stopping the rest
        log.warning("stopping %s failed: %s", what, exc)


def device_commands(hall: Hall, micropython: str | None) -> dict[str, list[str]]:
    """The ``kiosk-sim`` arguments of each simulated serial device of the hall."""
    return {
        "idcard": ["idcard", "--identities", str(hall.identities), "--link", "pty"],
        "scanner": ["scanner", "--link", "pty", "--suffix", "CR"],
        "printer": ["printer", "--link", "tcp:127.0.0.1:0", "--paper", "80", "--out", str(hall.receipts_dir)],
        "ioboard": ["ioboard", "--link", "pty"] + (["--interpreter", micropython] if micropython else []),
    }


def start_hall(workdir: Path, catalog: Path | None = None, identities: Path | None = None,
               devices: tuple[str, ...] = SERIAL_DEVICES, with_central: bool = True,
               central_speed: float = 1.0) -> Hall:
    """Starts the broker, central and the device simulators (not the terminal: ``start_terminal``).
    On a failure of the broker or central the partial hall is stopped and the error raised; a device
    simulator failure only leaves that device out (listed in ``problems``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    hall = Hall(workdir=workdir, catalog=catalog or sample_file("catalog-sample.json"),
                identities=identities or sample_file("identities-sample.json"))
    for folder in (hall.receipts_dir, hall.logs_dir, hall.terminal_dir):
        folder.mkdir(exist_ok=True)
    try:
        hall.broker = HallBroker(hall.workdir / "broker").start()
        if with_central:
            hall.central = HallSim("central", "--broker", hall.broker.url, "--db", str(hall.central_db),
                                   "--catalog", str(hall.catalog), "--keys", str(hall.keys_dir),
                                   "--speed", str(central_speed), log_dir=hall.logs_dir).start()
        micropython = shutil.which("micropython", path=str(Path(sys.executable).parent))
        for name, args in device_commands(hall, micropython).items():
            if name not in devices:
                continue
            try:
                hall.devices[name] = HallSim(*args, log_dir=hall.logs_dir).start()
            except Exception as exc:
                hall.problems.append(f"{name} simulator did not start: {exc}")
                log.warning("%s simulator did not start: %s", name, exc)
    except BaseException:
        hall.stop()
        raise
    return hall


def restart_terminal(hall: Hall) -> Terminal:
    """Stops the terminal (SIGTERM) and starts it again with the same configuration and port, as a
    service restart would: the open page must reconnect by itself. Raises RuntimeError as start does."""
    if hall.config_path is None:
        raise RuntimeError("the terminal was never started")
    if hall.terminal is not None:
        hall.terminal.stop()
    hall.terminal = Terminal(hall.config_path, hall.logs_dir)
    hall.terminal.start()
    return hall.terminal


def start_terminal(hall: Hall, port: int, camera: str = "sim:page", ack_wait_s: float = 5.0) -> Terminal:
    """Writes the terminal's configuration for this hall and starts ``kiosk run`` on ``port``; returns
    once it serves. Raises RuntimeError (with the end of its log) when it does not come up."""
    assert hall.broker is not None
    hall.config_path = write_terminal_config(hall, port, camera=camera, ack_wait_s=ack_wait_s)
    hall.terminal = Terminal(hall.config_path, hall.logs_dir)
    hall.terminal.start()
    return hall.terminal
