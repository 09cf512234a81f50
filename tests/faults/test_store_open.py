"""Opening the sync store when SQLite cannot read it at all, and repairing a store whose key is lost: the
engine starts on a store in memory and refuses cases; the repair keeps what needs no key, quarantines
the sealed rows and makes a new key only because it was asked to."""
from __future__ import annotations

import pytest

from edge_sync import SyncConfig, SyncEngine
from edge_sync.health import StoreState
from edge_sync.recover import recover
from edge_sync.results import StoreUnavailable
from tests.faults.rig import engine_case


def config(tmp_path) -> SyncConfig:
    return SyncConfig(device_id="KSK-511902-0007", site_id="511902-HALL-01", mqtt_url="mqtt://127.0.0.1:1",
                      data_dir=tmp_path, min_free_mb=1)


def test_a_store_sqlite_cannot_open_runs_in_memory_and_refuses_cases(tmp_path):
    engine = SyncEngine(config(tmp_path))
    engine.submit_case(engine_case())
    engine.stop()
    db = tmp_path / "sync.db"
    damaged = b"\x00" * 100 + db.read_bytes()[100:]          # the header gone
    db.write_bytes(damaged)
    key = (tmp_path / "sync.key").read_bytes()
    engine = SyncEngine(config(tmp_path)).start()
    try:
        health = engine.health()
        assert health.store is StoreState.CORRUPT and "kiosk sync recover" in engine.store_problem
        with pytest.raises(StoreUnavailable):
            engine.submit_case(engine_case())
        assert [a["reason"] for a in engine.status()["alarms"]] == ["store_corrupt"]
    finally:
        engine.stop()
    assert db.read_bytes() == damaged and (tmp_path / "sync.key").read_bytes() == key   # nothing written over


def test_recovering_with_the_key_lost_keeps_the_unsealed_rows_and_quarantines_the_rest(tmp_path):
    engine = SyncEngine(config(tmp_path))
    engine.submit_case(engine_case())
    engine.store.put("catalog.version", 7)
    engine.stop()
    (tmp_path / "sync.key").unlink()
    report = recover(tmp_path)
    assert report.key == "lost" and report.tables["cases"].left_in_quarantine
    assert report.tables["meta"].copied > 0 and not report.tables["meta"].left_in_quarantine
    engine = SyncEngine(config(tmp_path))
    try:
        assert engine.store_state is StoreState.OK and engine.store.get("catalog.version") == 7
        assert engine.store.scalar("SELECT COUNT(*) FROM cases") == 0
        assert int(engine.store.get("seq.case")) >= 1     # sequence numbers never go back
    finally:
        engine.stop()


def test_with_the_store_unreadable_the_newest_compiled_catalog_serves(tmp_path, catalog_file):
    """Consultation on a terminal whose sync store cannot be opened: the version central installed before
    (compiled beside the store) serves, not the older file of the configuration."""
    import json

    from kiosk.assemble import initial_catalog
    from kiosk.catalog.pinyin import InProcessPinyin
    from kiosk.catalog.store import CatalogStore
    from kiosk.config import load_config

    raw = json.loads(catalog_file.read_text("utf-8"))
    for version in (4, 5):
        CatalogStore(tmp_path / "catalog", InProcessPinyin()).install(version, {**raw, "version": version})
    engine = SyncEngine(config(tmp_path))
    engine.stop()
    db = tmp_path / "sync.db"
    db.write_bytes(b"\x00" * 100 + db.read_bytes()[100:])
    engine = SyncEngine(config(tmp_path))
    try:
        assert engine.store_state is StoreState.CORRUPT
        kiosk_config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path),
                                              "KIOSK_CATALOG_FILE": str(catalog_file)})
        catalog = initial_catalog(kiosk_config, engine, None, CatalogStore(tmp_path / "catalog"))
        assert catalog.version == 5 and catalog.items
    finally:
        engine.stop()
