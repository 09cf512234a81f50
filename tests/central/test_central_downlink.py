"""What central sends down on its own: the signed, chunked, retained catalog (§9), signed commands (§8)
and status pushes with step lights (§11)."""
from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.central.conftest import command, start_central
from tests.central.fake_kiosk import verify

pytestmark = pytest.mark.integration


def retained_catalog(broker_url: str, want_version: int, timeout: float = 10.0) -> tuple[dict, dict[int, bytes]]:
    """Subscribes to gov/v1/catalog/# as a fresh kiosk would and returns the manifest and its parts."""
    host, port = broker_url.split("//")[1].split(":")
    got: dict = {"manifest": None, "parts": {}}
    done = threading.Event()

    def on_message(client, userdata, message) -> None:
        if message.topic == "gov/v1/catalog/manifest":
            got["manifest"] = json.loads(message.payload)
        else:
            version, _, n = message.topic.split("/")[3:6]
            if int(version) == want_version:
                got["parts"][int(n)] = message.payload
        manifest = got["manifest"]
        if manifest and manifest["version"] == want_version and len(got["parts"]) == manifest["parts"]:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_connect = lambda c, *a: c.subscribe("gov/v1/catalog/#", qos=1)
    client.connect(host, int(port))
    client.loop_start()
    try:
        assert done.wait(timeout), f"catalog {want_version} not complete: {got['manifest']}"
    finally:
        client.disconnect()
        client.loop_stop()
    return got["manifest"], got["parts"]


def test_catalog_manifest_signed_and_parts_reassemble(central, catalog_file, tmp_path):
    manifest, parts = retained_catalog(central.ready["port"], 1)
    public = (Path(central.ready["keys"]) / "cat-2026.pub").read_text().strip()
    assert manifest["key_id"] == "cat-2026" and manifest["encoding"] == "gzip" and verify(manifest, public)
    assert not verify({**manifest, "sha256": "0" * 64}, public)
    packed = b"".join(parts[n] for n in range(manifest["parts"]))
    assert len(packed) == manifest["size"] and hashlib.sha256(packed).hexdigest() == manifest["sha256"]
    assert json.loads(gzip.decompress(packed)) == json.loads(catalog_file.read_text(encoding="utf-8"))
    # a bigger new version: several 64 KiB parts, published while running
    data = json.loads(catalog_file.read_text(encoding="utf-8"))
    data["version"] = 2
    data["padding"] = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(6000))  # poorly compressible
    (tmp_path / "v2.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    command(central, f"publish-catalog {tmp_path / 'v2.json'}")
    manifest2, parts2 = retained_catalog(central.ready["port"], 2)
    assert manifest2["parts"] > 1 and verify(manifest2, public)
    assert json.loads(gzip.decompress(b"".join(parts2[n] for n in range(manifest2["parts"])))) == data


def run_cmd(broker, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulators", "central", "cmd", *args, "--broker", broker.url,
                           "--keys", str(tmp_path / "keys")], capture_output=True, text=True, timeout=30)


def test_cmd_subaction_publishes_verifiable_signed_command(broker, kiosk, tmp_path):
    done = run_cmd(broker, tmp_path, "lock", "--device", kiosk.device, "--args", '{"reason": "维护"}')
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    cmd = kiosk.wait(lambda d: d.kind == "cmd").json
    assert cmd == printed
    got = (cmd["type"], cmd["v"], cmd["name"], cmd["args"], cmd["key_id"])
    assert got == ("cmd", 1, "lock", {"reason": "维护"}, "cmd-2026")
    assert cmd["expires_at"] > cmd["issued_at"] and cmd["cmd_id"].startswith("c-")
    public = (tmp_path / "keys" / "cmd-2026.pub").read_text().strip()
    assert verify(cmd, public)
    assert not verify({**cmd, "name": "unlock"}, public)


def test_cmd_subaction_can_send_bad_unsigned_and_expired_commands(broker, kiosk, tmp_path):
    for args in (("--sig", "none"), ("--sig", "bad"), ("--expires-in", "-60")):
        assert run_cmd(broker, tmp_path, "reboot", "--device", kiosk.device, *args).returncode == 0
    public = (tmp_path / "keys" / "cmd-2026.pub").read_text().strip()
    kiosk.wait_until(lambda: sum(1 for x in kiosk.received if x.kind == "cmd") == 3)
    unsigned, bad, expired = [d.json for d in kiosk.received if d.kind == "cmd"]
    assert "sig" not in unsigned and not verify(bad, public)
    assert verify(expired, public) and expired["expires_at"] < expired["issued_at"]
    assert run_cmd(broker, tmp_path, "lock", "--device", "not-a-device").returncode == 1


def test_status_progression_pushes_notify_with_lights(broker, tmp_path, catalog_file, kiosk):
    sim = start_central(broker, tmp_path, catalog_file, "--pace", "1.3")  # every step runs late
    try:
        case = kiosk.send_case(kiosk.case())
        kiosk.wait_ack(case["msg_id"])
        command(sim, "advance 40")
        ready = kiosk.wait(lambda d: d.kind == "notify" and d.json["status"] == "ready_for_pickup", timeout=20)
        notes = [d.json for d in kiosk.received if d.kind == "notify"]
        assert all(n["type"] == "case.notify" and n["case_id"] == case["case_id"] for n in notes)
        first_step = [n["case"]["steps"][0]["light"] for n in notes[:3]]
        assert first_step == ["yellow", "red", "red"]  # 20 % left, overdue, finished late
        assert [n["reason"] for n in notes[:3]] == ["light", "light", "step"]
        statuses = [n["status"] for n in notes if n["reason"] == "step"]
        assert statuses == ["accepted", "in_review", "approved", "certificate", "ready_for_pickup"]
        final = ready.json["case"]
        assert all(s["state"] == "done" and s["light"] == "red" for s in final["steps"])
        assert final["pickup"]["ready"] is True and "case_no" not in final and "applicant" not in final
        assert ready.json["full"]["case_no"] == ready.json["case_no"]
        assert ready.json["full"]["applicant"]["name"] == "张伟"
        command(sim, f"status {case['query_code']} picked_up")
        forced = kiosk.wait(lambda d: d.kind == "notify" and d.json["reason"] == "forced").json
        assert forced["status"] == "picked_up"
    finally:
        sim.stop()


def test_on_time_case_stays_green(broker, tmp_path, catalog_file, kiosk):
    sim = start_central(broker, tmp_path, catalog_file, "--pace", "0.5")
    try:
        case = kiosk.send_case(kiosk.case())
        kiosk.wait_ack(case["msg_id"])
        command(sim, "advance 40")
        kiosk.wait(lambda d: d.kind == "notify" and d.json["status"] == "ready_for_pickup", timeout=20)
        notes = [d.json for d in kiosk.received if d.kind == "notify"]
        assert {n["reason"] for n in notes} == {"step"}
        assert {s["light"] for n in notes for s in n["case"]["steps"]} == {"green"}
    finally:
        sim.stop()


def test_speed_runs_the_simulated_clock_fast(broker, tmp_path, catalog_file, kiosk):
    # 2 days a second, from a Monday morning: a case received on a Friday night plans later steps from the
    # weekend and can end a day after its promise (a simulator quirk, in the closing note of 2026-12-04).
    sim = start_central(broker, tmp_path, catalog_file, "--speed", "172800", "--pace", "0.5",
                        "--clock-start", "2026-03-02T09:00:00+08:00")
    try:
        case = kiosk.send_case(kiosk.case())
        promised = kiosk.wait_ack(case["msg_id"])["detail"]["promised_by"]
        ready = kiosk.wait(lambda d: d.kind == "notify" and d.json["status"] == "ready_for_pickup", timeout=30).json
        assert ready["at"][:10] <= promised  # on time at half of every limit
    finally:
        sim.stop()
