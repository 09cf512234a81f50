"""The store without a broker: privacy at rest, durability before return, the storage budget,
retention purge, and configuration from TOML and environment."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest

from edge_sync import Attachment, InvalidCase, StorageFull, SyncConfig, SyncConfigError
from edge_sync.outbox import open_body
from edge_sync.retention import purge_expired
from edge_sync.store import Store
from tests.edge_sync.conftest import DEVICE, ID_NUMBERS, SITE, sample_case

OFFLINE = "mqtt://127.0.0.1:1"


def _raw_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("sync.db"))


def test_raw_database_and_wal_hold_no_personal_data_in_clear(make_engine, make_config):
    engine = make_engine(OFFLINE, start=False)
    for i in range(30):
        engine.submit_case(sample_case(i))
    engine.list_cases({"id_type": "resident", "id_no": ID_NUMBERS[0]}, timeout=0.1)
    engine.downlink.put_view("l:x", [{"applicant": {"name": "张三", "id_no": ID_NUMBERS[1]}}])
    data_dir = make_config(OFFLINE).data_dir
    assert (data_dir / "sync.db-wal").exists()
    raw = _raw_bytes(data_dir)
    assert len(raw) > 10_000
    for secret in [*ID_NUMBERS, "13800000000", "张三"]:
        for encoding in ("utf-8", "utf-16-le", "gb18030"):
            assert secret.encode(encoding) not in raw, secret
    key_file = data_dir / "sync.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    engine.store.close()


def test_submit_is_durable_before_return(make_engine, make_config):
    engine = make_engine(OFFLINE, start=False)
    sub = engine.submit_case(sample_case())
    # A second connection (another process would see the same) finds case and outbox row committed.
    other = Store(make_config(OFFLINE).db_path, readonly=True)
    assert other.scalar("SELECT COUNT(*) FROM cases WHERE case_id = ?", (sub.case_id,)) == 1
    assert other.scalar("SELECT seq FROM outbox WHERE msg_id = ?", (sub.msg_id,)) == sub.seq == 1
    other.close()
    engine.store.close()


def test_storage_full_refuses_new_cases_and_keeps_the_old(make_engine, make_config):
    engine = make_engine(OFFLINE, start=False)
    kept = [engine.submit_case(sample_case(i)) for i in range(3)]
    engine.store.close()
    full = make_engine(OFFLINE, start=False, min_free_mb=10 ** 9)
    with pytest.raises(StorageFull) as err:
        full.submit_case(sample_case())
    assert "存储空间" in err.value.message and "MB" in str(err.value)
    with pytest.raises(StorageFull):
        full.submit_case(sample_case())
    assert full.store.scalar("SELECT COUNT(*) FROM cases") == 3
    assert [r[0] for r in full.store.query("SELECT case_id FROM outbox WHERE kind='case' ORDER BY seq")] == \
        [s.case_id for s in kept]
    status = full.status()
    assert status["outbox"]["event"] == 1 and status["alarms"][-1]["reason"] == "storage_full"   # alarm once
    full.store.close()
    budget = make_engine(OFFLINE, start=False, max_store_mb=0.01)
    with pytest.raises(StorageFull):
        budget.submit_case(sample_case())
    budget.store.close()


def test_invalid_case_is_refused_without_storing(make_engine):
    engine = make_engine(OFFLINE, start=False)
    with pytest.raises(InvalidCase) as err:
        engine.submit_case({**sample_case(), "applicant": {"name": "张三", "id_type": "alien", "id_no": "1"}})
    assert "applicant.id_type" in str(err.value) and ID_NUMBERS[0] not in str(err.value)
    with pytest.raises(InvalidCase):
        engine.submit_case({**sample_case(), "query_code": "7KQ2M9XDPA4TH6WRX"})
    assert engine.store.scalar("SELECT COUNT(*) FROM cases") == 0
    engine.store.close()


def test_acked_cases_are_purged_after_retention(make_engine):
    engine = make_engine(OFFLINE, start=False, retention_days=0)
    sub = engine.submit_case(sample_case())
    with engine.store.tx() as c:        # as the drain does on an ack
        c.execute("DELETE FROM outbox")
        c.execute("UPDATE cases SET state='acked', purge_after=? WHERE case_id=?", (time.time() - 1, sub.case_id))
    assert purge_expired(engine.store, 0) == 1
    assert engine.store.scalar("SELECT COUNT(*) FROM cases") == 0
    engine.store.close()


def test_config_from_toml_sections_and_env(tmp_path):
    toml = tmp_path / "kiosk.toml"
    toml.write_text(f'[device]\nid = "{DEVICE}"\nsite_id = "{SITE}"\ndata_dir = "{tmp_path}"\n'
                    '[sync]\nmqtt_url = "mqtt://127.0.0.1:1883"\nenabled = true\nack_timeout_s = 7\n'
                    '[sync.command_keys]\n"cmd-2026" = "' + "A" * 43 + '="\n')
    cfg = SyncConfig.from_toml(toml, env={})
    assert cfg.device_id == DEVICE and cfg.broker == ("127.0.0.1", 1883, False) and cfg.ack_timeout_s == 7.0
    assert cfg.db_path == tmp_path / "sync.db" and "cmd-2026" in cfg.command_keys
    env = {"KIOSK_MQTT_URL": "mqtts://broker.example:8883", "KIOSK_SYNC_ACK_TIMEOUT_S": "9",
           "KIOSK_DEVICE_ID": "VSP-511902-0001", "KIOSK_SYNC_CERT_FILE": "/c.pem", "KIOSK_SYNC_KEY_FILE": "/k.pem"}
    over = SyncConfig.from_toml(toml, env=env)
    assert over.broker == ("broker.example", 8883, True) and over.ack_timeout_s == 9.0
    assert over.device_id == "VSP-511902-0001"
    flat = tmp_path / "flat.toml"
    flat.write_text(f'device_id = "{DEVICE}"\nsite_id = "{SITE}"\nmqtt_url = "mqtt://h:1"\ndata_dir = "/x"\n')
    assert SyncConfig.from_toml(flat, env={}).site_id == SITE


@pytest.mark.parametrize("env, words", [
    ({"KIOSK_DEVICE_ID": "ksk-1"}, "KIOSK_DEVICE_ID"),
    ({"KIOSK_MQTT_URL": "http://x:1"}, "KIOSK_MQTT_URL"),
    ({"KIOSK_MQTT_URL": "mqtt://x:99999"}, "KIOSK_MQTT_URL"),
    ({"KIOSK_SYNC_ACK_TIMEOUT_S": "soon"}, "ack_timeout_s"),
    ({"KIOSK_SYNC_COMMAND_KEYS": '{"k": "short"}'}, "command_keys.k"),
    ({"KIOSK_SITE_ID": ""}, "site_id"),
])
def test_config_errors_name_the_key(env, words):
    base = {"KIOSK_DEVICE_ID": DEVICE, "KIOSK_SITE_ID": SITE, "KIOSK_MQTT_URL": "mqtt://127.0.0.1:1883",
            "KIOSK_DATA_DIR": "/tmp/x"}
    with pytest.raises(SyncConfigError) as err:
        SyncConfig.from_env({**base, **env})
    assert words in str(err.value)


def test_engine_restart_keeps_epoch_and_seq(make_engine):
    engine = make_engine(OFFLINE, start=False)
    first = engine.submit_case(sample_case())
    epoch = engine.store.bump_epoch()
    engine.store.close()
    again = make_engine(OFFLINE, start=False)
    assert again.submit_case(sample_case()).seq == first.seq + 1
    assert again.store.bump_epoch() == epoch + 1
    again.store.close()
    assert os.path.exists(again.config.db_path)


def test_attachments_fill_their_materials(make_engine):
    engine = make_engine(OFFLINE, start=False)
    fields = sample_case(materials=[
        {"code": "M01", "source": "shared"},
        {"code": "M02", "source": "scan", "blob": {"id": "b-app", "mime": "image/jpeg", "pages": 2}},
        {"code": "M03", "source": "scan"}])
    sub = engine.submit_case(fields, [Attachment("M02", b"a" * 10, "image/jpeg", pages=2, blob_id="b-app"),
                                      Attachment("M03", b"b" * 20, "application/pdf")])
    body = engine.store.query("SELECT msg_id, body FROM outbox WHERE case_id = ?", (sub.case_id,))[0]
    env = json.loads(open_body(engine.key, body[0], body[1]))
    by_code = {m["code"]: m for m in env["materials"]}
    assert len(env["materials"]) == 3 and "blob" not in by_code["M01"]
    assert by_code["M02"]["blob"] == {"id": "b-app", "sha256": hashlib.sha256(b"a" * 10).hexdigest(), "size": 10,
                                      "pages": 2, "mime": "image/jpeg"}
    assert by_code["M03"]["blob"]["size"] == 20 and by_code["M03"]["blob"]["id"].startswith("b-")
    assert engine.status()["outbox"]["blob"] == 2
    engine.store.close()
