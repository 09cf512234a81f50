"""Central starts a rollout by signed commands: the terminal ⇄ central simulator end to end over a real
mosquitto (the bundle fetched as a downlink blob, installed, reported back as events, then rolled back
by central), and the choice of a percentage of a region's devices."""
from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_sync.crypto import load_public_keys, verify_signed
from simulators.central.rollouts import select_devices
from simulators.central.signing import COMMAND_KEY
from tests.central.conftest import command

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def central_events(db, device: str, types: tuple[str, ...]) -> list[dict]:
    marks = ",".join("?" * len(types))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(f"SELECT payload FROM events WHERE device = ? AND type IN ({marks}) ORDER BY id",
                            (device, *types)).fetchall()
    return [json.loads(r[0]) for r in rows]


def wait_health(db, device: str, wanted, timeout: float) -> dict:
    """The ``update`` field of the first ``device.health`` at central that ``wanted`` accepts."""
    deadline = time.monotonic() + timeout
    while True:
        seen = [h.get("update") for h in central_events(db, device, ("device.health",))]
        found = [u for u in seen if isinstance(u, dict) and wanted(u)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no device.health with that update state; last: {seen[-1:]}"
        time.sleep(0.5)


def start_rollout(hall, line: str) -> dict:
    """Sends a ``rollout`` stdin command; the JSON line central prints about the rollout it started."""
    hall.central.send(line)
    started = hall.central.wait_json(lambda o: o.get("event") == "rollout" or (o.get("event") == "command" and
                                                                               o.get("name") == "rollout"), 30)
    assert started.get("event") == "rollout", started
    return started


def wait_result(hall, rollout_id: str, timeout: float) -> dict:
    return hall.central.wait_json(lambda o: o.get("event") == "rollout.progress" and o.get("rollout_id") == rollout_id
                                  and o.get("result") is not None, timeout=timeout)


@pytest.mark.slow
def test_rollout_over_mqtt_installs_reports_and_rolls_back(running, bundles, hall):
    first = running.state().current
    version = running.next_version()
    bundle = bundles.bundle(version)
    started = start_rollout(hall, f"rollout {bundle} {running.device_id} r-e2e-1")
    assert started["devices"] == [running.device_id] and started["version"] == version
    done = wait_result(hall, "r-e2e-1", 180)
    assert done["result"] == "installed", (done, running.host.log_tail("updater.log"))
    running.host.wait_version(version, 30)

    events = central_events(hall.db, running.device_id, ("update.progress", "update.result"))
    stages = [e["stage"] for e in events if e["type"] == "update.progress" and e["rollout_id"] == "r-e2e-1"]
    for stage in ("downloading", "queued", "staging", "switching", "restarting"):
        assert stage in stages, stages
    (result,) = [e for e in events if e["type"] == "update.result" and e["rollout_id"] == "r-e2e-1"]
    assert (result["result"], result["version"], result["from_version"]) == ("installed", version, first.version)
    assert not running.spool.joinpath("request.json").exists()
    reported = wait_health(hall.db, running.device_id, lambda u: u.get("sw") == version and u["phase"] == "idle", 60)
    assert reported["previous"] == first.version and reported["last"]["result"] == "installed", reported
    assert not list((running.spool / "bundles").glob("*.bundle"))     # the downloaded bundle was dropped

    command(hall.central, "rollout-rollback r-e2e-1")
    back = wait_result(hall, "r-e2e-1", 120)
    assert back["result"] == "rolled_back", back
    running.host.wait_version(first.version, 30)
    assert running.state().current == first


def test_install_command_for_an_old_version_is_refused_at_once(running, bundles, hall):
    """The terminal answers cmd.result ok=false without downloading anything."""
    start_rollout(hall, f"rollout {bundles.bundle('0.0.5')} {running.device_id} r-old-1")
    refused = wait_result(hall, "r-old-1", 30)
    assert refused["result"] == "refused" and "not newer" in refused["detail"]
    assert not (running.spool / "bundles").exists() or not list((running.spool / "bundles").iterdir())


def test_percentage_of_a_region_gets_signed_install_commands(hall, bundles, release_keys):
    region = [f"KSK-511999-{n:04d}" for n in range(10)]
    received: dict[str, list[dict]] = {}
    lock = threading.Lock()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fleet-of-ten", protocol=mqtt.MQTTv5)

    def on_message(_c, _u, msg) -> None:
        with lock:
            received.setdefault(msg.topic.split("/")[3], []).append(json.loads(msg.payload))
    client.on_message = on_message
    host, port = hall.broker.url.removeprefix("mqtt://").split(":")
    client.connect(host, int(port))
    client.loop_start()
    try:
        client.subscribe("gov/v1/down/+/cmd", qos=1)
        for device in region:
            client.publish(f"gov/v1/up/{device}/state", json.dumps({"type": "state", "v": 1, "online": True,
                                                                     "epoch": 1}), qos=1, retain=True)
        for device in region:
            hall.central.wait_json(lambda o, d=device: o.get("event") == "device" and o.get("device") == d, 15)
        chosen = start_rollout(hall, f"rollout {bundles.bundle('0.2.0')} 30%:KSK-511999 r-pct-1")
        assert chosen["devices"] == select_devices(region, 30, "r-pct-1") and len(chosen["devices"]) == 3
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with lock:
                if all(received.get(d) for d in chosen["devices"]):
                    break
            time.sleep(0.1)
    finally:
        for device in region:
            client.publish(f"gov/v1/up/{device}/state", b"", qos=1, retain=True)
        client.disconnect()
        client.loop_stop()
    keys = load_public_keys({COMMAND_KEY: release_keys.public_keys()[COMMAND_KEY]})
    for device in region:
        commands = [c for c in received.get(device, []) if c.get("name") == "update_install"]
        if device not in chosen["devices"]:
            assert commands == [], device
            continue
        (cmd,) = commands
        assert verify_signed(cmd, keys) == COMMAND_KEY
        assert cmd["args"]["rollout_id"] == "r-pct-1" and cmd["args"]["version"] == "0.2.0"
        assert cmd["args"]["bundle"] == chosen["blob"]
        assert len(base64.b64decode(cmd["sig"])) == 64


@given(st.sets(st.integers(0, 9999), min_size=1, max_size=60), st.integers(1, 100), st.integers(1, 100),
       st.text(min_size=1, max_size=12))
def test_a_larger_share_includes_the_smaller_one(numbers, a, b, rollout):
    devices = [f"KSK-511902-{n:04d}" for n in numbers]
    small, large = select_devices(devices, min(a, b), rollout), select_devices(devices, max(a, b), rollout)
    assert set(small) <= set(large) <= set(devices)
    assert len(large) == max(1, -(-len(devices) * max(a, b) // 100))
