"""The sync connection survives what used to end it for good: a full disk while it reconnects, and a
TLS certificate file missing during a renewal. Each fault runs against the real processes (terminal,
mosquitto, central simulator); the tests count what was committed, delivered and duplicated, what the
screen said, and check that delivery resumes once the fault clears."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from edge_sync import SyncConfig, SyncEngine
from tests.faults.rig import ANSWERED, Tally, central_events, engine_case, submit_case, wait_until
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 24 MB tmpfs of the test's own, so that filling it cannot fill the machine's disk."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path) -> Path:
    """Writes a file until the filesystem has no space left; returns it (delete it to end the fault)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 512):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert shutil.disk_usage(disk).free < 64 * 1024
    return filler


def truncate_wal(db: Path) -> None:
    """Checkpoints the store's WAL into the database and truncates it, from outside the terminal, so that
    the terminal's next write must grow a file (space a full disk does not have)."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()


def test_disk_full_while_reconnecting_does_not_end_delivery(rig_factory, small_disk, record_figures):
    """The defect: an error while reconnecting (the store could not write the new epoch) ended the
    connection thread; the terminal took cases and never delivered them again. Now the supervisor
    retries with backoff, the screen says sync is at fault (not merely offline), central hears an
    alarm and the restarts in device.health, and everything committed arrives exactly once."""
    rig = rig_factory(data_dir=small_disk, sync={"min_free_mb": 1.0, "reserve_mb": 0.0})
    screen = rig.start_terminal()
    tally = Tally()
    for _ in range(2):
        assert submit_case(screen, rig.hall, tally)["status"] in ANSWERED
    rig.hall.broker.stop()
    wait_until(lambda: not screen.status()["online"], 20, "the terminal to see the broker gone")
    for _ in range(2):
        assert submit_case(screen, rig.hall, tally)["status"] == "pending"
    assert len(tally.committed) == 4

    truncate_wal(small_disk / "sync.db")
    filler = fill(small_disk)
    rig.hall.broker.start()
    started = time.monotonic()
    # Every reconnect attempt now fails on the store; the screen must say so, not show the plain offline.
    faulty = wait_until(lambda: screen.status()["sync"]["fault"], 30, "the screen to show the sync fault")
    time.sleep(max(0.0, 4.0 - (time.monotonic() - started)))
    during = screen.status()
    filler.unlink()
    fault_s = round(time.monotonic() - started, 1)

    wait_until(lambda: not tally.lost(rig.central_db), 60, "every committed case at central")
    wait_until(lambda: screen.status()["sync"]["fault"] is None and screen.status()["online"], 30,
               "the screen to show sync healthy again")
    alarms = wait_until(lambda: [e for e in central_events(rig.central_db, "help.requested")
                                 if e.get("reason") == "worker_failing"], 30, "the alarm at central")

    def restarts() -> int:
        reports = central_events(rig.central_db, "device.health")
        return max((h["supervisor"]["workers"].get("sync-connection", {}).get("restarts", 0) for h in reports),
                   default=0)
    counted = wait_until(restarts, 90, "the restarts in device.health")
    figures = tally.figures(rig.central_db)
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["delivered"] == 4
    assert screen.said_submit_again() == []
    assert faulty == "sync-connection_failing" and during["sync"]["message"] and during["light"] == "red:steady"
    assert alarms[0]["detail"]["worker"] == "sync-connection"
    record_figures({"fault": "disk full while reconnecting", "fault_s": fault_s, **figures,
                    "screen": during["sync"]["message"], "light": during["light"],
                    "alarm": alarms[0]["reason"], "connection_restarts": counted})


def test_certificate_file_missing_during_renewal_is_retried(tmp_path, record_figures):
    """TLS: the client certificate is missing while a renewal replaces it and the broker restarts; the
    terminal retries (it used to end its connection thread), and delivers once the file is back."""
    from tests.trust.tls_broker import DEVICE_A, SITES, TlsBroker, make_pki

    pki = make_pki(tmp_path / "pki")
    broker = TlsBroker(pki).start()
    central = SimProcess("central", "--broker", broker.url, "--db", str(tmp_path / "central.db"),
                         "--keys", str(tmp_path / "keys"), "--ca", str(pki.ca.cert_path),
                         "--cert", str(pki.central.cert), "--key", str(pki.central.key), ready_timeout=30)
    identity = pki.devices[DEVICE_A]
    cert = tmp_path / "device.crt"
    shutil.copy(identity.cert, cert)
    config = SyncConfig(device_id=DEVICE_A, site_id=SITES[DEVICE_A], mqtt_url=broker.url, data_dir=tmp_path / "sync",
                        ca_file=str(pki.ca.cert_path), cert_file=str(cert), key_file=str(identity.key),
                        reconnect_max_s=2.0, min_free_mb=1)
    engine = SyncEngine(config)
    try:
        central.start()
        engine.start()
        assert engine.wait_online(30)
        first = engine.submit_case(engine_case())
        first_ack = engine.wait_case_ack(first.case_id, 30)
        assert first_ack is not None and first_ack["result"] == "accepted"
        cert.rename(tmp_path / "renewing.crt")          # the renewal's window
        broker.stop()
        broker.start()
        wait_until(lambda: _restarts(engine, "sync-connection") >= 1, 30, "a failed reconnect, counted")
        second = engine.submit_case(engine_case())
        assert engine.case_outcome(second.case_id) is None
        worker = engine.supervisor.worker("sync-connection")
        assert worker is not None and worker.alive and worker.last_error == "FileNotFoundError"
        (tmp_path / "renewing.crt").rename(cert)
        outcome = engine.wait_case_ack(second.case_id, 60)
        assert outcome is not None and outcome["result"] == "accepted"
        from simulators.central import store

        kept = [c["case_id"] for c in store.device_cases(str(tmp_path / "central.db"), DEVICE_A)]
        assert kept == [first.case_id, second.case_id]
        record_figures({"fault": "certificate file missing during renewal", "committed": 2, "delivered": 2,
                        "lost": 0, "duplicated": 0,
                        "connection_restarts": _restarts(engine, "sync-connection")})
    finally:
        engine.stop()
        central.stop()
        broker.cleanup()


def _restarts(engine: SyncEngine, name: str) -> int:
    worker = engine.supervisor.worker(name)
    return worker.restarts if worker is not None else 0

