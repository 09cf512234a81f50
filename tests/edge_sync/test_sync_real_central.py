"""edge_sync against the real central simulator (``kiosk-sim central`` subprocess): happy path with an
attachment, catalog and a signed command; the ``kiosk sync`` command line; crash safety."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_sync import Attachment
from tests.edge_sync.conftest import DEVICE, SITE, sample_case, wait_until
from tests.edge_sync.test_sync_crash import run_crash_campaign
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


class Central(SimProcess):
    """``kiosk-sim central`` with the key folder and database it was started with."""

    def __init__(self, broker_url: str, keys_dir: Path, db: Path) -> None:
        super().__init__("central", "--broker", broker_url, "--keys", str(keys_dir), "--db", str(db))
        self.keys_dir, self.db = keys_dir, db


@pytest.fixture
def central(broker, tmp_path):
    with Central(broker.url, tmp_path / "keys", tmp_path / "central.db") as sim:
        yield sim


def _keys(central: Central) -> dict:
    def pub(name: str) -> str:
        return (central.keys_dir / f"{name}.pub").read_text().strip()

    return {"command_keys": {"cmd-2026": pub("cmd-2026")}, "catalog_keys": {"cat-2026": pub("cat-2026")}}


def _central_cases(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT seq, case_id FROM cases WHERE device = ? ORDER BY recv_order",
                            (DEVICE,)).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_happy_path_catalog_and_command_with_real_central(broker, central, make_engine):
    engine = make_engine(broker.url, start=False, **_keys(central))
    catalogs: list[int] = []
    commands: list[str] = []
    engine.on_catalog = lambda version, cat: catalogs.append(version)

    def on_command(cmd: dict[str, Any]) -> tuple[bool, Any]:
        commands.append(cmd["name"])
        return True, "locked"
    engine.on_command = on_command
    engine.start()
    subs = [engine.submit_case(sample_case(i)) for i in range(20)]
    data = os.urandom(700_000)
    subs.append(engine.submit_case(sample_case(), [Attachment("M02", data, "application/pdf", pages=3)]))
    for s in subs:
        outcome = engine.wait_case_ack(s.case_id, 30)
        assert outcome and outcome["result"] == "accepted" and outcome["case_no"] and outcome["promised_by"]
    got = _central_cases(central.db)
    assert sorted(c for _, c in got) == sorted(s.case_id for s in subs)
    assert [s for s, _ in got] == sorted(s for s, _ in got)
    wait_until(lambda: catalogs, 15, "catalog from central installed")
    status = json.loads(_cli(["status"], engine.config.data_dir, broker.url).stdout)   # another process
    assert status["connected"] is True and status["catalog_version"] == catalogs[0]
    refused = _cli(["selftest", "--count", "1"], engine.config.data_dir, broker.url)
    assert refused.returncode == 2 and "stop it first" in refused.stderr
    answer = engine.query_case(subs[0].query_code, timeout=5)
    assert answer and answer["found"] is True and not answer.cached
    out = subprocess.run([sys.executable, "-m", "simulators", "central", "cmd", "lock", "--device", DEVICE,
                          "--broker", broker.url, "--keys", str(central.keys_dir), "--args", '{"reason": "维护"}'],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr[-2000:]
    wait_until(lambda: commands == ["lock"], 15, "command run")
    wait_until(lambda: engine.status()["outbox_total"] == 0, 15, "cmd.result acked")


def _cli(args, data_dir, url):
    env = {**os.environ, "KIOSK_DEVICE_ID": DEVICE, "KIOSK_SITE_ID": SITE, "KIOSK_MQTT_URL": url,
           "KIOSK_DATA_DIR": str(data_dir), "KIOSK_SYNC_MIN_FREE_MB": "1"}
    env.pop("KIOSK_CONFIG", None)
    return subprocess.run([sys.executable, "-c", "import sys; from kiosk.cli.main import main; sys.exit(main())",
                           "sync", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=90)


def test_cli_selftest_and_status_with_real_central(broker, central, tmp_path):
    data = tmp_path / "kiosk"
    done = _cli(["selftest", "--count", "25", "--timeout", "30"], data, broker.url)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sent"] == result["acked"] == 25 and result["seconds"] > 0
    status = _cli(["status"], data, broker.url)
    assert status.returncode == 0, status.stderr
    st = json.loads(status.stdout)
    assert st["connected"] is False and st["outbox_total"] == 0 and st["epoch"] >= 1 and st["last_ack"]
    assert set(st["outbox"]) == {"case", "blob", "event"}
    assert _central_cases(central.db) == []          # test cases are acked and discarded


def test_cli_selftest_fails_without_central(broker, tmp_path):
    done = _cli(["selftest", "--count", "3", "--timeout", "2"], tmp_path / "k", broker.url)
    assert done.returncode == 1
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sent"] == 3 and result["acked"] == 0


@pytest.mark.slow
def test_sigkill_campaign_with_real_central(broker, central, tmp_path):
    run_crash_campaign(broker.url, tmp_path / "kiosk", lambda: _central_cases(central.db))
