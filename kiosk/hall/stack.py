"""Starts the simulated hall's back room in order — mosquitto, the central simulator, each device
simulator — and stops it in reverse. A device simulator that fails to start is reported and left out,
as a missing device would be on a real terminal."""
from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from kiosk.hall.broker import Broker
from kiosk.hall.procs import SimProcess

log = logging.getLogger("kiosk.hall")

DEVICE_ID = "KSK-511902-0007"
SITE_ID = "511902-HALL-01"


def sample_file(name: str) -> Path:
    """The fictional sample data shipped with the simulators (a copy of shared/data)."""
    import simulators.data  # the package folder, wherever it is installed

    return Path(simulators.data.__file__).resolve().parent / name


@dataclass
class Hall:
    """What is running, and where a terminal finds it."""

    workdir: Path
    broker: Optional[Broker] = None
    central: Optional[SimProcess] = None
    devices: dict[str, SimProcess] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def receipts_dir(self) -> Path:
        return self.workdir / "receipts"

    @property
    def keys_dir(self) -> Path:
        return self.workdir / "central-keys"

    def port(self, device: str) -> Optional[str]:
        proc = self.devices.get(device)
        return proc.port if proc else None

    def send(self, device: str, command: str) -> bool:
        proc = self.devices.get(device)
        if proc is None:
            return False
        proc.send(command)
        return True

    def stop(self) -> None:
        for name, proc in reversed(list(self.devices.items())):
            try:
                proc.stop()
            except Exception as exc:  # keep stopping the rest
                log.warning("stopping %s simulator failed: %s", name, exc)
        self.devices.clear()
        if self.central is not None:
            self.central.stop()
            self.central = None
        if self.broker is not None:
            self.broker.cleanup()
            self.broker = None


def device_commands(hall: Hall, catalog: Path, identities: Path, micropython: Optional[str]) -> dict[str, list[str]]:
    """The ``kiosk-sim`` arguments of each simulated device of the hall."""
    commands = {
        "idcard": ["idcard", "--identities", str(identities), "--link", "pty"],
        "scanner": ["scanner", "--link", "pty", "--suffix", "CR"],
        "printer": ["printer", "--link", "tcp:127.0.0.1:0", "--paper", "80", "--out", str(hall.receipts_dir)],
        "ioboard": ["ioboard", "--link", "pty"] + (["--interpreter", micropython] if micropython else []),
    }
    return commands


def start_hall(workdir: Path, catalog: Optional[Path] = None, identities: Optional[Path] = None,
               devices: tuple[str, ...] = ("idcard", "scanner", "printer", "ioboard"),
               with_central: bool = True) -> Hall:
    """Starts everything; on a failure of the broker or central the partial hall is stopped and the
    error raised, a device simulator failure only leaves that device out (listed in ``problems``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    catalog = catalog or sample_file("catalog-sample.json")
    identities = identities or sample_file("identities-sample.json")
    hall = Hall(workdir=workdir)
    hall.receipts_dir.mkdir(exist_ok=True)
    try:
        hall.broker = Broker().start()
        if with_central:
            hall.central = SimProcess("central", "--broker", hall.broker.url, "--db", str(workdir / "central.db"),
                                      "--catalog", str(catalog), "--keys", str(hall.keys_dir)).start()
        micropython = shutil.which("micropython", path=str(Path(sys.executable).parent))
        for name, args in device_commands(hall, catalog, identities, micropython).items():
            if name not in devices:
                continue
            try:
                hall.devices[name] = SimProcess(*args).start()
            except Exception as exc:
                hall.problems.append(f"{name} simulator did not start: {exc}")
                log.warning("%s simulator did not start: %s", name, exc)
    except BaseException:
        hall.stop()
        raise
    return hall
