"""A damaged sync store or a lost device key never stops consultation: the real terminal starts, refuses
new cases with a clear message, alarms central, and ``kiosk doctor`` fails naming the repair command;
``kiosk sync recover`` keeps what can be read and quarantines the rest, and delivery goes on."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.faults.rig import ANSWERED, Tally, submit_case, wait_events, wait_until

pytestmark = pytest.mark.integration

STORE_MESSAGE = "数据存储出现故障"


def corrupt_table(db: Path, table: str) -> int:
    """Overwrites the pages of ``table`` with garbage (a failing SD card); returns how many."""
    conn = sqlite3.connect(db)
    try:
        pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = ?", (table,))]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    assert pages, f"{table} has no pages"
    with open(db, "r+b") as raw:
        for page in pages:
            raw.seek((page - 1) * size)
            raw.write(b"\xa5\x5a" * (size // 2))
    return len(pages)


def committed_then_offline(rig) -> tuple:
    screen = rig.start_terminal()
    tally = Tally()
    first = submit_case(screen, rig.hall, tally)
    assert first["status"] in ANSWERED
    assert screen.post("/api/query", {"code": first["notice"]["query_code"]})[0] == 200   # a cached view
    rig.hall.broker.stop()
    wait_until(lambda: not screen.status()["online"], 20, "offline")
    for _ in range(2):
        assert submit_case(screen, rig.hall, tally)["status"] == "pending"
    rig.stop_terminal()
    rig.hall.broker.start()
    return screen, tally


def test_a_corrupt_store_keeps_consultation_and_recovers_what_can_be_read(rig_factory, record_figures):
    rig = rig_factory()
    _, tally = committed_then_offline(rig)
    db = rig.data_dir / "sync.db"
    pages = corrupt_table(db, "case_views")

    screen = rig.start_terminal()
    assert screen.get("/api/home")["categories"] and screen.get("/api/search?q=yyzz")["items"]
    status = wait_until(lambda: screen.status() if screen.status()["sync"]["store"] else None, 20,
                        "the screen to show the store fault")
    refused = submit_case(screen, rig.hall, tally)
    alarm = wait_events(rig.central_db, "help.requested", lambda e: e.get("reason") == "store_corrupt")
    rig.stop_terminal()
    doctor = rig.kiosk_cli("doctor")
    assert doctor.returncode != 0 and "kiosk sync recover" in doctor.stdout, doctor.stdout

    # A store that opens keeps delivering what it can read while it refuses new cases.
    pending = len(tally.lost(rig.central_db))
    recovered = rig.kiosk_cli("sync", "recover")
    assert recovered.returncode == 0, recovered.stderr
    report = json.loads(recovered.stdout)
    quarantine = Path(report["quarantine"])
    assert (quarantine / "sync.db").exists() and (quarantine / "recovery.json").exists()
    assert report["tables"]["cases"]["copied"] == 3 and report["queued_cases"] == pending
    assert report["tables"]["case_views"]["left_in_quarantine"]
    assert "FAIL store" not in rig.kiosk_cli("doctor").stdout

    screen = rig.start_terminal()
    wait_until(lambda: not tally.lost(rig.central_db), 60, "the pending cases at central")
    after = submit_case(screen, rig.hall, tally)
    wait_until(lambda: not tally.lost(rig.central_db), 30, "the new case at central")
    figures = tally.figures(rig.central_db)
    assert status["sync"]["store"] == "store_corrupt" and STORE_MESSAGE in status["blocks"]["notice"]
    assert STORE_MESSAGE in refused["message"] and alarm
    assert after["status"] in ANSWERED and figures["lost"] == 0 and figures["duplicated"] == 0
    assert screen.said_submit_again() == []
    record_figures({"fault": "sync store pages overwritten (case_views)", "pages_damaged": pages, **figures,
                    "screen": status["sync"]["message"], "doctor_exit": doctor.returncode,
                    "recovered_cases": report["tables"]["cases"]["copied"], "queued_at_repair": pending,
                    "quarantined_tables": [t for t, r in report["tables"].items() if r["left_in_quarantine"]]})


def test_a_lost_device_key_is_never_replaced_silently(rig_factory, record_figures):
    rig = rig_factory()
    _, tally = committed_then_offline(rig)
    key = rig.data_dir / "sync.key"
    backup = rig.workdir / "sync.key.backup"
    key.rename(backup)

    screen = rig.start_terminal()
    status = wait_until(lambda: screen.status() if screen.status()["sync"]["store"] else None, 20,
                        "the screen to show the store fault")
    refused = submit_case(screen, rig.hall, tally)
    alarm = wait_events(rig.central_db, "help.requested", lambda e: e.get("reason") == "store_key_lost")
    assert not key.exists(), "a new key was made over rows it cannot read"
    rig.stop_terminal()
    doctor = rig.kiosk_cli("doctor")
    assert doctor.returncode != 0 and "kiosk sync recover" in doctor.stdout and "key" in doctor.stdout
    assert not key.exists()

    backup.rename(key)                                  # the technician restores the key from its backup
    screen = rig.start_terminal()
    wait_until(lambda: not tally.lost(rig.central_db), 60, "the pending cases at central")
    figures = tally.figures(rig.central_db)
    assert status["sync"]["store"] == "store_key_lost" and STORE_MESSAGE in refused["message"] and alarm
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and screen.status()["sync"]["store"] is None
    record_figures({"fault": "device key file lost, then restored", **figures, "screen": status["sync"]["message"],
                    "doctor_exit": doctor.returncode, "new_key_made": False})
