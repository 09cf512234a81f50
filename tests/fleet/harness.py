"""What the fleet tests share: real sync engines of several devices, the central simulator as a real
process (SQLite or PostgreSQL store), and checks on central's database: nothing lost, nothing doubled,
each device's cases in seq order."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edge_sync import Submitted, SyncConfig, SyncEngine
from simulators.central import store
from tests.central.conftest import command
from tests.edge_sync.conftest import sample_case, wait_until
from tests.support.simproc import SimProcess

SITE = "511902-HALL-01"


def device_id(n: int) -> str:
    return f"KSK-511902-{n + 100:04d}"


def start_central(broker_url: str, workdir: Path, catalog: Path | None, *extra: str, db: str | None = None,
                  keys: Path | None = None) -> SimProcess:
    args = ["central", "--broker", broker_url, "--db", db or str(workdir / "central.db"),
            "--keys", str(keys or workdir / "keys")]
    if catalog is not None:
        args += ["--catalog", str(catalog)]
    sim = SimProcess(*args, *extra, ready_timeout=30)
    sim.start()
    if sim.ready.get("device") != "central":
        # Terminals' births handled while central started are printed before its ready line.
        sim.ready = sim.wait_json(lambda o: o.get("device") == "central", timeout=30)
    return sim


def stats(sim: SimProcess) -> dict:
    sim.send("stats")
    return sim.wait_json(lambda o: o.get("event") == "stats", timeout=10)


class Fleet:
    """N engines on one broker, each with its own data folder; ``stop()`` always."""

    def __init__(self, broker_url: str, root: Path, n: int, first: int = 0, **config: Any) -> None:
        self.engines: list[SyncEngine] = []
        for i in range(first, first + n):
            values: dict[str, Any] = dict(device_id=device_id(i), site_id=SITE, mqtt_url=broker_url,
                                          data_dir=root / f"t{i}", min_free_mb=1, reconnect_min_s=0.2,
                                          reconnect_max_s=2.0)
            values.update(config)
            self.engines.append(SyncEngine(SyncConfig(**values)))
        self.submitted: dict[str, list[Submitted]] = {e.config.device_id: [] for e in self.engines}

    def start(self) -> Fleet:
        for engine in self.engines:
            engine.start()
        return self

    def submit(self, per_engine: int) -> None:
        for engine in self.engines:
            for i in range(per_engine):
                self.submitted[engine.config.device_id].append(engine.submit_case(sample_case(i)))

    def outbox(self) -> int:
        return sum(int(e.store.scalar("SELECT COUNT(*) FROM outbox")) for e in self.engines)

    def wait_empty(self, timeout: float) -> float:
        """Seconds until every outbox is empty; AssertionError naming what is left after ``timeout``."""
        start = time.monotonic()
        wait_until(lambda: self.outbox() == 0, timeout, "every outbox empty")
        return time.monotonic() - start

    def stop(self) -> None:
        for engine in self.engines:
            if engine._running:
                engine.stop()


def assert_exactly_once_in_order(db: str, fleet: Fleet) -> None:
    """Every submitted case is at central once, and each device's cases were received in seq order."""
    for device, subs in fleet.submitted.items():
        rows = store.device_cases(db, device)
        assert sorted(r["case_id"] for r in rows) == sorted(s.case_id for s in subs), device
        seqs = [r["seq"] for r in rows]
        assert seqs == sorted(seqs), f"{device} out of order: {seqs}"


__all__ = ["Fleet", "assert_exactly_once_in_order", "command", "device_id", "start_central", "stats", "wait_until"]
