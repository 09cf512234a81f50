"""The trusted clock and central's commands, with the real sync engine, mosquitto and central simulator:
a wall clock set back or forward while offline is detected and marked in health; commands are judged
by central's time (even right after a reboot, before any ack), their lifetime is capped, and a replay
is refused across restarts."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edge_sync import ClockState, SyncConfig, SyncEngine
from simulators.central import store as central_store
from simulators.hall.terminal_config import central_public_keys
from tests.faults.rig import engine_case, wait_until
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration

DEVICE, SITE = "KSK-511902-0007", "511902-HALL-01"
DAY = 86400.0
SIM = [sys.executable, "-c", "import sys; from simulators.cli import main; sys.exit(main())"]


class Wall:
    """The device's wall clock: real time plus an offset a test sets (the clock set while offline)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def send_command(broker_url: str, keys: Path, cmd_id: str, expires_in: float, name: str = "lock") -> None:
    done = subprocess.run([*SIM, "central", "cmd", name, "--device", DEVICE, "--broker", broker_url,
                           "--keys", str(keys), "--expires-in", str(expires_in), "--cmd-id", cmd_id,
                           "--args", json.dumps({"reason": "维护"})], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def results(db: Path) -> dict[str, dict]:
    rows = central_store.rows(str(db), "SELECT payload FROM events WHERE type = 'cmd.result' ORDER BY id")
    out: dict[str, dict] = {}
    for row in rows:
        body = json.loads(row["payload"])
        out.setdefault(body["cmd_id"], body)     # the first outcome of each id (replays come after)
    return out


def all_results(db: Path, cmd_id: str) -> list[dict]:
    rows = central_store.rows(str(db), "SELECT payload FROM events WHERE type = 'cmd.result' ORDER BY id")
    return [b for b in (json.loads(r["payload"]) for r in rows) if b["cmd_id"] == cmd_id]


def test_clock_set_back_while_offline_and_commands_judged_by_centrals_time(broker, tmp_path, record_figures):
    keys, db = tmp_path / "keys", tmp_path / "central.db"
    central = SimProcess("central", "--broker", broker.url, "--db", str(db), "--keys", str(keys),
                         ready_timeout=30).start()
    command_keys, _ = central_public_keys(keys)
    config = SyncConfig(device_id=DEVICE, site_id=SITE, mqtt_url=broker.url, data_dir=tmp_path / "sync",
                        command_keys=command_keys, reconnect_max_s=1.0, min_free_mb=1)
    wall = Wall()
    ran: list[str] = []

    def engine_up() -> SyncEngine:
        engine = SyncEngine(config, wall_clock=wall)

        def on_command(cmd: dict[str, Any]) -> tuple[bool, Any]:
            ran.append(cmd["cmd_id"])
            return True, "locked"
        engine.on_command = on_command
        return engine.start()

    engine = engine_up()
    try:
        assert engine.wait_online(20)
        case = engine.submit_case(engine_case())
        ack = engine.wait_case_ack(case.case_id, 30)
        assert ack is not None and ack["result"] == "accepted"
        assert engine.health().clock is ClockState.OK and engine.trusted_now() is not None

        broker.stop()                                   # offline; someone sets the clock two days back
        wall.offset = -2 * DAY
        marked = engine.health()
        assert marked.clock is ClockState.WRONG and not marked.clock_ok and engine.trusted_now() is None
        assert marked.clock_step_s is not None and marked.clock_step_s < -DAY
        engine.stop()

        engine = engine_up()                            # a reboot, still offline, the clock still wrong
        after_reboot = engine.health().clock
        assert after_reboot is ClockState.WRONG          # behind the last server time it saw
        broker.start()
        assert engine.wait_online(20)
        # Expired an hour ago by central's time, yet two days in the future by the device's clock.
        send_command(broker.url, keys, "c-expired", expires_in=-3600)
        first = wait_until(lambda: results(db).get("c-expired"), 30, "the expired command's result")
        send_command(broker.url, keys, "c-three-days", expires_in=3 * DAY)
        send_command(broker.url, keys, "c-good", expires_in=300)
        wait_until(lambda: {"c-three-days", "c-good"} <= set(results(db)), 30, "both results")
        send_command(broker.url, keys, "c-good", expires_in=300)            # replayed at once
        wait_until(lambda: len(all_results(db, "c-good")) >= 2, 30, "the replay's result")
        engine.stop()
        engine = engine_up()                             # replayed after a restart
        assert engine.wait_online(20)
        send_command(broker.url, keys, "c-good", expires_in=300)
        wait_until(lambda: len(all_results(db, "c-good")) >= 3, 30, "the replay's result after the restart")
    finally:
        engine.stop()
        central.stop()
    outcomes = results(db)
    assert first["ok"] is False and "expired" in first["detail"]
    assert outcomes["c-three-days"]["ok"] is False and "lifetime" in outcomes["c-three-days"]["detail"]
    assert outcomes["c-good"]["ok"] is True and ran == ["c-good"]
    assert [r["detail"] for r in all_results(db, "c-good")[1:]] == ["refused: replayed", "refused: replayed"]
    record_figures({"fault": "clock set back two days while offline, reboot, commands queued",
                    "clock_after_step": marked.clock.value, "clock_step_s": marked.clock_step_s,
                    "clock_after_reboot": after_reboot.value, "expired_command": first["detail"],
                    "three_day_command": outcomes["c-three-days"]["detail"], "commands_run": ran,
                    "replays_refused": 2})


def test_clock_set_forward_while_offline_is_marked_stepped(tmp_path):
    wall = Wall()
    config = SyncConfig(device_id=DEVICE, site_id=SITE, mqtt_url="mqtt://127.0.0.1:1", data_dir=tmp_path / "sync",
                        min_free_mb=1)
    engine = SyncEngine(config, wall_clock=wall).start()
    try:
        assert engine.health().clock is ClockState.UNKNOWN and engine.trusted_now() is not None
        wall.offset = 3 * DAY
        health = engine.health()
        assert health.clock is ClockState.STEPPED and health.clock_step_s is not None and health.clock_step_s > 2 * DAY
        assert engine.trusted_now() is None             # no promised date from a clock that jumped
    finally:
        engine.stop()

