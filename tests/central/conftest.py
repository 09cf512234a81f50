"""Fixtures of the central simulator tests: a running simulator on the test's broker and a fake kiosk."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.central.fake_kiosk import FakeKiosk
from tests.support.simproc import SimProcess


def start_central(broker, tmp_path: Path, catalog_file: Path, *extra: str, db: str = "central.db") -> SimProcess:
    return SimProcess("central", "--broker", broker.url, "--db", str(tmp_path / db), "--keys",
                      str(tmp_path / "keys"), "--catalog", str(catalog_file), *extra).start()


@pytest.fixture
def central(broker, tmp_path, catalog_file):
    sim = start_central(broker, tmp_path, catalog_file)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def kiosk(broker):
    fake = FakeKiosk(broker.url)
    try:
        yield fake
    finally:
        fake.close()


def command(sim: SimProcess, line: str) -> dict:
    """Sends a stdin command and waits until the simulator confirms it."""
    name = line.split()[0]
    sim.send(line)
    reply = sim.wait_json(lambda o: o.get("event") == "command" and o.get("name") == name, timeout=10)
    assert reply["ok"], reply
    return reply


def wait_stats(sim: SimProcess, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
    """Asks for ``stats`` until they satisfy ``predicate``; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        sim.send("stats")
        stats = sim.wait_json(lambda o: o.get("event") == "stats", timeout=max(0.1, deadline - time.monotonic()))
        if predicate(stats):
            return stats
        if time.monotonic() > deadline:
            raise TimeoutError(f"stats never matched: {stats}")
        time.sleep(0.05)
