"""Fixtures of the service tests: one mosquitto and one central simulator (the shipped sample catalog) per
module, and terminals with their own real sync engine each (always stopped)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.catalog import Catalog, load_catalog
from simulators.hall.stack import sample_file
from tests.services.terminal import CentralKeys, Terminal, central_keys
from tests.support.broker import Broker
from tests.support.simproc import SimProcess


@dataclass
class Net:
    broker: Broker
    central: SimProcess
    base: Path
    db: Path
    keys: CentralKeys
    catalog: Catalog

    def command(self, line: str) -> dict:
        """A stdin command to central, once it confirms it."""
        name = line.split()[0]
        self.central.send(line)
        reply = self.central.wait_json(lambda o: o.get("event") == "command" and o.get("name") == name, timeout=10)
        assert reply["ok"], reply
        return reply


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> Iterator[Net]:
    base = tmp_path_factory.mktemp("services")
    catalog_path = sample_file("catalog-sample.json")
    broker = Broker().start()
    try:
        central = SimProcess("central", "--broker", broker.url, "--db", str(base / "central.db"), "--keys",
                             str(base / "keys"), "--catalog", str(catalog_path)).start()
        try:
            yield Net(broker, central, base, base / "central.db", central_keys(base / "keys"),
                      load_catalog(catalog_path))
        finally:
            central.stop()
    finally:
        broker.cleanup()


@pytest.fixture
def make_terminal(net: Net, tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    made: list[Terminal] = []

    def make(name: str = "a", **kwargs) -> Terminal:
        kwargs.setdefault("broker_url", net.broker.url)
        terminal = Terminal(tmp_path / name, catalog=net.catalog, keys=net.keys, **kwargs)
        made.append(terminal)
        return terminal

    yield make
    for terminal in made:
        terminal.stop()


@pytest.fixture
def terminal(make_terminal) -> Terminal:
    return make_terminal()
