"""The terminal takes a new catalog version from edge_sync while serving: compiled by the child and
swapped in by a thread of its own; of two versions arriving together the newer wins; a bad one is kept
out and the version in use stays."""
from __future__ import annotations

import time

from kiosk.app import Kiosk, Ports
from kiosk.catalog.store import CatalogStore
from kiosk.config import load_config


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_versions_from_edge_sync_are_compiled_and_swapped_in(tmp_path, aliased_file, aliased_raw, monkeypatch):
    store = CatalogStore(tmp_path / "catalog")
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path), "KIOSK_SYNC_ENABLED": "false"})
    kiosk = Kiosk(config, store.from_file(aliased_file), Ports(), catalogs=store)
    events: list[dict] = []
    monkeypatch.setattr(kiosk.bus, "publish", events.append)  # what the page would receive
    kiosk.on_catalog(2, {**aliased_raw, "version": 2})
    kiosk.on_catalog(3, {**aliased_raw, "version": 3})
    wait_for(lambda: kiosk.catalog.version == 3)
    time.sleep(0.5)  # v2's thread, had it not given way to v3, would swap v2 in now
    swaps = [e["version"] for e in events if e["type"] == "catalog"]
    assert kiosk.catalog.version == 3 and swaps[-1] == 3 and swaps in ([2, 3], [3])
    assert not list((tmp_path / "catalog").glob("*.json"))  # no spooled JSON left behind
    kiosk.on_catalog(4, {**aliased_raw, "version": 4, "items": [{"code": "x"}]})
    time.sleep(2)
    assert kiosk.catalog.version == 3 and kiosk.catalog.find("社保卡").found
