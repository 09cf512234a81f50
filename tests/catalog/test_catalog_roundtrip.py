"""An aliased catalog goes from the central simulator (``kiosk-sim central --catalog``, signed, gzip,
chunked, retained) through a real mosquitto and the real sync engine to the terminal's compiled catalog,
aliases intact and searchable."""
from __future__ import annotations

import threading

import pytest

from edge_sync import SyncConfig, SyncEngine
from kiosk.catalog import Catalog
from kiosk.catalog.index import Kind
from kiosk.catalog.store import CatalogStore
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration


def test_aliases_survive_central_and_edge_sync(broker, tmp_path, aliased_file, aliased_raw):
    keys = tmp_path / "keys"
    store = CatalogStore(tmp_path / "compiled")
    installed: list[Catalog] = []
    raws: list[dict] = []
    done = threading.Event()

    def on_catalog(version: int, raw: dict) -> None:  # what Kiosk.on_catalog does, kept to observe it
        raws.append(raw)
        installed.append(store.install(version, raw))
        done.set()

    with SimProcess("central", "--broker", broker.url, "--keys", str(keys), "--db", str(tmp_path / "c.db"),
                    "--catalog", str(aliased_file)):
        pub = {name: (keys / f"{name}.pub").read_text().strip() for name in ("cmd-2026", "cat-2026")}
        engine = SyncEngine(SyncConfig(device_id="KSK-511902-0007", site_id="511902-HALL-01", mqtt_url=broker.url,
                                       data_dir=tmp_path / "data", command_keys={"cmd-2026": pub["cmd-2026"]},
                                       catalog_keys={"cat-2026": pub["cat-2026"]}, min_free_mb=1))
        engine.on_catalog = on_catalog
        engine.start()
        try:
            assert done.wait(30), "no catalog installed from central within 30 s"
        finally:
            engine.stop()
    assert [i["aliases"] for i in raws[0]["items"]] == [i["aliases"] for i in aliased_raw["items"]]
    catalog = installed[0]
    assert catalog.items["511900-GG-0002"].aliases == ("社保卡", "社保卡申领", "社保卡补办")
    first = catalog.find("社保卡补办").found[0]
    assert (first.item.code, first.kind) == ("511900-GG-0002", Kind.ALIAS)
    assert [p.name for p in (tmp_path / "compiled").iterdir()] == [f"central-v{catalog.version}.sqlite"]
