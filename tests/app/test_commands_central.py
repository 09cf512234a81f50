"""Central's commands end to end: the central simulator signs and sends them over a real mosquitto, the real
edge_sync engine verifies them and calls the application wired by ``kiosk.assemble.assemble``; the outcomes come
back to central as ``cmd.result`` events, and the audit trail names each command by its cmd_id."""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import pytest

from kiosk.assemble import assemble
from kiosk.audit import AuditLog
from kiosk.commands import REBOOT_EXIT_CODE
from kiosk.config import load_config
from tests.app.harness import KioskThread
from tests.support.net import free_port
from tests.support.simproc import SimProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
DEVICE = "KSK-511902-0007"


def results(db, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The first ``count`` cmd.result events central stored, in arrival order."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT payload FROM events WHERE type = 'cmd.result' ORDER BY id").fetchall()
        if len(rows) >= count:
            return [json.loads(r[0]) for r in rows[:count]]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(rows)} of {count} cmd.result events at central")
        time.sleep(0.2)


def write_toml(path, data, broker_url, catalog_file, keys: dict[str, str], reset_after: int) -> None:
    table = "".join(f'"{k}" = "{v}"\n' for k, v in keys.items())
    path.write_text(f'[device]\nid = "{DEVICE}"\nsite_id = "511902-HALL-01"\ndata_dir = "{data}"\n'
                    f'[session]\nreset_after_s = {reset_after}\n[catalog]\nfile = "{catalog_file}"\n'
                    f'[sync]\nmqtt_url = "{broker_url}"\nmin_free_mb = 1\nreconnect_min_s = 0.2\n'
                    f'reconnect_max_s = 1.0\n[sync.command_keys]\n{table}', "utf-8")


def test_commands_from_central_run_and_report(broker, tmp_path, catalog_file, monkeypatch):
    for var in ("KIOSK_CONFIG", "KIOSK_SYNC_COMMAND_KEYS", "KIOSK_SYNC_CATALOG_KEYS", "KIOSK_DEVICE_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    keys, data, db = tmp_path / "keys", tmp_path / "data", tmp_path / "central.db"
    data.mkdir()
    with SimProcess("central", "--broker", broker.url, "--db", str(db), "--keys", str(keys),
                    "--catalog", str(catalog_file)) as central:
        cmd_key = (keys / "cmd-2026.pub").read_text().strip()
        toml = tmp_path / "kiosk.toml"
        write_toml(toml, data, broker.url, catalog_file, {"cmd-2026": cmd_key}, 60)
        kiosk, engine = assemble(load_config(toml))
        engine.start()
        runner = KioskThread(lambda: kiosk, free_port())
        try:
            runner.start()
            exits: list[int] = []
            kiosk.on_exit = exits.append
            assert engine.wait_online(15)
            central.send(f'cmd {DEVICE} set_config {{"key": "session.reset_after_s", "value": 75}}')
            central.send(f'cmd {DEVICE} set_config {{"key": "device.id", "value": "KSK-000000-0001"}}')
            results(db, 2)
            write_toml(toml, data, broker.url, catalog_file, {"cmd-2026": cmd_key, "cmd-2027": cmd_key}, 90)
            central.send(f"cmd {DEVICE} reload_config")
            central.send(f'cmd {DEVICE} upload_logs {{"lines": 20}}')
            engine.downlink.put_view("q:Q1", {"status": "受理"})
            central.send(f"cmd {DEVICE} purge_cache")
            central.send(f"cmd {DEVICE} reboot")
            got = results(db, 6)
            assert [r["ok"] for r in got] == [True, False, True, True, True, True], got
            assert got[0]["detail"] == "session.reset_after_s set"
            assert "not a key central may set" in got[1]["detail"]
            assert "cmd-2027" in got[2]["detail"]  # the rotation went through SyncEngine.set_accepted_keys
            assert engine.accepted_key_ids()["command_keys"] == ["cmd-2026", "cmd-2027"]
            # The override file wins over the file's new value: central set it explicitly.
            assert kiosk.sessions.timeouts.reset_after_s == 75.0
            assert isinstance(got[3]["detail"]["lines"], list) and got[3]["detail"]["count"] >= 1
            # purge_cache reached the application (audited there), which purged through the engine.
            assert got[4]["detail"] == "case-view cache purged: 1 deleted"
            assert engine.downlink.cached_view("q:Q1") is None
            assert got[5]["detail"] == "rebooting"
            deadline = time.monotonic() + 10
            while not exits and time.monotonic() < deadline:
                time.sleep(0.1)
            assert exits == [REBOOT_EXIT_CODE]
        finally:
            runner.stop()
            engine.stop()
    with AuditLog(data / "audit.db", readonly=True) as trail:
        executed = [r.subject for r in trail.records() if r.action == "cmd.executed"]
        assert trail.verify().ok
    ids = [r["cmd_id"] for r in got]
    names = ["set_config", "set_config", "reload_config", "upload_logs", "purge_cache", "reboot"]
    outcomes = ["ok", "refused", "ok", "ok", "ok", "ok"]
    assert executed == [f"{i} {n}: {o}" for i, n, o in zip(ids, names, outcomes, strict=True)]
