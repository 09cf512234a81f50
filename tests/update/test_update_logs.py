"""Remote diagnostics: central's ``upload_logs`` with ``blob: true`` brings every line of the terminal's log
(far more than the 300 of a cmd.result) as one masked gzip blob, announced by ``logs.uploaded``; without
it, the old answer in cmd.result still comes for old centrals. Real engine, mosquitto, central simulator."""
from __future__ import annotations

import gzip
import json
import logging
import sqlite3
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_sync.outbox import open_body
from kiosk.assemble import assemble
from kiosk.config import load_config
from kiosk.diagnostics import compress_lines, mask_line
from simulators.central.signing import COMMAND_KEY
from tests.update.terminal import toml_value

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
DEVICE = "KSK-511902-0401"
ID_NO, PHONE = "51010719990305026X", "13800001234"


def central_rows(db, sql: str, params: tuple, count: int, timeout: float = 30.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute(sql, params).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def write_config(path, data, hall, release_keys, log_source: str) -> None:
    tables = {"device": {"id": DEVICE, "site_id": "511902-HALL-01", "data_dir": str(data)},
              "catalog": {"file": str(hall.catalog)}, "diagnostics": {"log_source": log_source},
              "sync": {"mqtt_url": hall.broker.url, "min_free_mb": 1, "reconnect_min_s": 0.2},
              "sync.command_keys": {COMMAND_KEY: release_keys.public_keys()[COMMAND_KEY]}}
    path.write_text("".join(f"[{name}]\n" + "".join(f'"{k}" = {toml_value(v)}\n' for k, v in body.items())
                            for name, body in tables.items()), "utf-8")


def test_logs_of_any_length_reach_central_masked_and_compressed(hall, release_keys, tmp_path):
    log_file = tmp_path / "kiosk.log"
    lines = [f"2026-11-24T09:{n // 60 % 60:02d}:{n % 60:02d} INFO kiosk: 第{n}行 step {n}" for n in range(20000)]
    lines[7] = f"2026-11-24T09:00:07 WARNING kiosk: a card {ID_NO} and a phone {PHONE} slipped into a log"
    log_file.write_text("\n".join(lines) + "\n", "utf-8")
    (tmp_path / "data").mkdir()
    write_config(tmp_path / "kiosk.toml", tmp_path / "data", hall, release_keys, f"file:{log_file}")
    kiosk, engine = assemble(load_config(tmp_path / "kiosk.toml"))
    logging.getLogger().addHandler(kiosk.recent_log)   # as Kiosk.start does: the lines of the old answer
    engine.start()
    try:
        assert engine.wait_online(15)
        hall.central.send(f'cmd {DEVICE} upload_logs {{"blob": true}}')
        hall.central.send(f'cmd {DEVICE} upload_logs {{"lines": 5}}')
        (uploaded,) = central_rows(hall.db, "SELECT payload FROM events WHERE device = ? AND type = 'logs.uploaded'",
                                   (DEVICE,), 1)
        event = json.loads(uploaded[0])
        assert event["lines"] == 20000 and event["source"] == f"file:{log_file}"
        (blob,) = central_rows(hall.db, "SELECT data, mime, size FROM blobs WHERE blob_id = ?",
                               (event["blob"]["id"],), 1)
        results = [json.loads(r[0]) for r in central_rows(
            hall.db, "SELECT payload FROM events WHERE device = ? AND type = 'cmd.result' ORDER BY id", (DEVICE,), 2)]
    finally:
        logging.getLogger().removeHandler(kiosk.recent_log)
        engine.stop()
        kiosk.closers and [close() for close in kiosk.closers]
    assert blob[1] == "application/gzip" and blob[2] == event["blob"]["size"]
    text = gzip.decompress(blob[0]).decode("utf-8")
    got = text.splitlines()
    assert len(got) == 20000 and got[19999] == lines[19999] and "第12345行" in text
    assert ID_NO not in text and PHONE not in text and "<id-number>" in got[7] and "<phone>" in got[7]
    assert len(blob[0]) < len(text.encode()) // 5            # compressed
    by_kind = {("blob" if isinstance(r["detail"], str) else "lines"): r for r in results}
    assert by_kind["blob"]["ok"] and "logs.uploaded" in by_kind["blob"]["detail"]
    old = by_kind["lines"]["detail"]                                     # the old answer, unchanged
    assert by_kind["lines"]["ok"] and old["count"] == len(old["lines"]) >= 1


def test_an_unreadable_log_source_is_reported_not_hidden(hall, release_keys, tmp_path):
    (tmp_path / "data").mkdir()
    write_config(tmp_path / "kiosk.toml", tmp_path / "data", hall, release_keys, f"file:{tmp_path / 'none.log'}")
    kiosk, engine = assemble(load_config(tmp_path / "kiosk.toml"))
    assert kiosk.log_uploader is not None
    ok, _ = kiosk.log_uploader.start("c-test-1")
    assert ok and kiosk.log_uploader.wait(10)
    bodies = [json.loads(open_body(engine.key, msg_id, body))
              for msg_id, body in engine.store.query("SELECT msg_id, body FROM outbox WHERE kind = 'event'")]
    (event,) = [b for b in bodies if b["type"] == "logs.uploaded"]
    assert event["cmd_id"] == "c-test-1" and event["blob"] is None and event["lines"] == 0
    assert "none.log" in event["error"]
    engine.stop()
    kiosk.closers and [close() for close in kiosk.closers]


@given(st.text(max_size=300))
def test_a_masked_line_is_one_line_without_identity_numbers(text):
    line = mask_line(f"{text} {ID_NO} x {PHONE}")
    assert "\n" not in line and "\r" not in line
    assert ID_NO not in line and PHONE not in line
    packed = compress_lines([text, ID_NO], "test")
    assert packed.lines == 2 and ID_NO.encode() not in gzip.decompress(packed.data)
