"""Retention purges every table of the sync store that holds personal data — acked and rejected cases
with their attachments, cached case views and received notifications — and nothing younger; seen
commands go only once their expiry has passed by the trusted clock."""
from __future__ import annotations

import time

from edge_sync import SyncConfig, SyncEngine
from edge_sync.retention import purge_expired

DAY = 86400.0


def test_every_table_with_personal_data_is_purged_after_retention(tmp_path):
    engine = SyncEngine(SyncConfig(device_id="KSK-511902-0007", site_id="511902-HALL-01",
                                   mqtt_url="mqtt://127.0.0.1:1", data_dir=tmp_path, min_free_mb=1))
    store, key, now = engine.store, engine.key, time.time()
    try:
        with store.tx() as c:
            for age, tag in ((10 * DAY, "old"), (DAY, "new")):
                c.execute("INSERT INTO cases(case_id, seq, msg_id, query_code, created_at, state, applicant, "
                          "purge_after) VALUES (?,?,?,?,?,?,?,?)",
                          (f"case-{tag}", int(age), f"m-{tag}", "Q", "t", "acked",
                           key.seal_json({"name": "张三"}, f"case-{tag}".encode()), now - age + 7 * DAY))
                c.execute("INSERT INTO blobs(blob_id, ord, case_id, msg_prefix, size, sha256, mime, pages, state, "
                          "created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (f"b-{tag}", int(age), f"case-{tag}", f"p-{tag}", 1, "0" * 64, "application/pdf", 1,
                           "stored", now - age))
                c.execute("INSERT INTO blob_data(blob_id, seg, data) VALUES (?,?,?)", (f"b-{tag}", 0, b"x"))
                c.execute("INSERT INTO case_views(key, view, fetched_at) VALUES (?,?,?)",
                          (f"q:{tag}", key.seal_json({"applicant_masked": "张*"}, b"v"), now - age))
                c.execute("INSERT INTO inbox(topic, kind, body, received_at) VALUES (?,?,?,?)",
                          ("notify", "case.notify", key.seal_json({"full": {"applicant": {"name": "张三"}}}, b"inbox"),
                           now - age))
                c.execute("INSERT INTO seen_commands(cmd_id, seen_at, expires) VALUES (?,?,?)",
                          (f"c-{tag}", now - age, now - age + 300))
        purge_expired(store, 7.0, commands_before=now - 5 * DAY)
        for table, column in (("cases", "case_id"), ("blobs", "blob_id"), ("case_views", "key"),
                              ("seen_commands", "cmd_id")):
            kept = [r[0] for r in store.query(f"SELECT {column} FROM {table}")]
            assert len(kept) == 1 and "new" in kept[0], (table, kept)
        assert [r[0] for r in store.query("SELECT blob_id FROM blob_data")] == ["b-new"]
        assert store.scalar("SELECT COUNT(*) FROM inbox") == 1
        assert store.scalar("SELECT MIN(received_at) FROM inbox") > now - 2 * DAY
    finally:
        engine.stop()
