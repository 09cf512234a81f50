"""Crash safety: the kiosk side runs in a subprocess killed with SIGKILL at random moments while it
submits and drains 2 000 cases; central must end with every case exactly once, in order per device."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edge_sync.store import Store
from tests.edge_sync.conftest import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TOTAL = 2000
KILLS = 20


def _start_worker(broker_url: str, data: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """The worker and its ready line."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.edge_sync.kiosk_worker", "--broker", broker_url,
                             "--data", str(data), "--total", str(TOTAL), *extra], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    assert line.startswith("{"), f"worker did not start: {line!r} {proc.stderr.read()[-2000:] if proc.poll() else ''}"
    return proc, json.loads(line)


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()


def run_crash_campaign(broker_url: str, data: Path, central_cases) -> None:
    """Kills the worker KILLS times, then lets it finish; ``central_cases()`` → [(seq, case_id)] at central."""
    rand = random.Random(4242)
    stored_at_start = []
    for _ in range(KILLS):
        proc, ready = _start_worker(broker_url, data)
        stored_at_start.append(ready["cases"])
        try:
            time.sleep(rand.uniform(0.05, 0.6))
        finally:
            _kill(proc)
    # The kills landed while cases were still being submitted, not only after.
    assert len({n for n in stored_at_start if 0 < n < TOTAL}) >= KILLS // 2, stored_at_start
    proc, _ = _start_worker(broker_url, data, "--finish")
    try:
        out, err = proc.communicate(timeout=150)
        assert json.loads(out.strip().splitlines()[-1])["done"], err[-2000:]
    finally:
        _kill(proc)
    store = Store(data / "sync.db", readonly=True)
    local = store.query("SELECT seq, case_id FROM cases ORDER BY seq")
    store.close()
    assert len(local) == TOTAL and [s for s, _ in local] == list(range(1, TOTAL + 1))
    got = wait_until(lambda: (c := central_cases()) and len(c) >= TOTAL and c, 30, "central has every case")
    ids = [case_id for _, case_id in got]
    assert len(ids) == len(set(ids)) == TOTAL                       # none doubled
    assert set(ids) == {case_id for _, case_id in local}            # none lost
    assert [s for s, _ in got] == sorted(s for s, _ in got)         # order per device kept


@pytest.mark.slow
def test_sigkill_during_submit_and_drain_loses_and_doubles_nothing(broker, peer, tmp_path):
    run_crash_campaign(broker.url, tmp_path / "kiosk",
                       lambda: [(seq, cid) for _, seq, cid in list(peer.case_order)])
    assert all(len(ids) == 1 for ids in peer.case_msg_ids.values())   # re-sends kept their msg_id
    assert peer.case_msgs >= TOTAL


def test_will_with_epoch_after_sigkill(broker, peer, tmp_path):
    proc, _ = _start_worker(broker.url, tmp_path / "kiosk")
    try:
        birth = wait_until(lambda: [s for s in peer.states if s["online"]], 10, "birth")[-1]
    finally:
        _kill(proc)
    will = wait_until(lambda: [s for s in peer.states if not s["online"]], 15, "will after the delay")[-1]
    assert will == {"type": "state", "v": 1, "online": False, "epoch": birth["epoch"]}
