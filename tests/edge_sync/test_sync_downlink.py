"""Downlink over a real mosquitto: catalog install (and refusal of tampered parts and bad signatures),
signed commands (replayed, expired, unsigned, forged), status pushes; malformed payloads never crash."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.edge_sync.conftest import DEVICE, sample_case, wait_until
from tests.edge_sync.publication import iso, publication, publish_catalog

pytestmark = pytest.mark.integration


@pytest.fixture
def catalog(catalog_file):
    return json.loads(catalog_file.read_text(encoding="utf-8"))


def test_catalog_installs_and_a_tampered_part_is_refused(broker, peer, make_engine, cat_signer, catalog):
    engine = make_engine(broker.url, start=False)
    installed = []
    engine.on_catalog = lambda version, cat: installed.append((version, cat))
    engine.start()
    assert engine.wait_online(10)
    manifest, parts = publication(cat_signer, catalog, 41)
    publish_catalog(peer, manifest, parts)
    wait_until(lambda: installed, 10, "catalog v41 installed")
    assert installed[0] == (41, catalog) and engine.current_catalog() == (41, catalog)
    assert engine.status()["catalog_version"] == 41

    newer = {**catalog, "note": "v42"}
    manifest2, parts2 = publication(cat_signer, newer, 42)
    good_part = parts2[0]
    parts2[0] = bytes([good_part[0] ^ 1]) + good_part[1:]
    publish_catalog(peer, manifest2, parts2)
    wait_until(lambda: engine.store.scalar("SELECT COUNT(*) FROM catalog_parts WHERE version = 42") == len(parts2),
               10, "v42 parts received")
    assert engine.current_catalog()[0] == 41 and len(installed) == 1     # old one kept
    peer.publish("gov/v1/catalog/42/part/0", good_part, retain=True)   # republished intact
    wait_until(lambda: len(installed) == 2, 10, "v42 installed after the good part")
    assert installed[1] == (42, newer) and engine.status()["catalog_version"] == 42
    births = [s for s in peer.states if s.get("online")]
    assert births[0]["catalog"] in (None, 41, 42)


def test_catalog_with_bad_manifest_signature_is_not_installed(broker, peer, make_engine, cat_signer, catalog):
    from tests.edge_sync.conftest import Signer
    engine = make_engine(broker.url, start=False)
    installed = []
    engine.on_catalog = lambda version, cat: installed.append(version)
    engine.start()
    assert engine.wait_online(10)
    forged, parts = publication(Signer(cat_signer.key_id), catalog, 50)    # right key id, wrong key
    publish_catalog(peer, forged, parts)
    unsigned = {k: v for k, v in publication(cat_signer, catalog, 51)[0].items() if k != "sig"}
    peer.publish("gov/v1/catalog/manifest", json.dumps(unsigned).encode(), retain=True)
    altered = dict(publication(cat_signer, catalog, 52)[0], size=1)           # signed fields changed
    peer.publish("gov/v1/catalog/manifest", json.dumps(altered).encode(), retain=True)
    # A valid case still goes through after all that: the loop is alive, nothing installed.
    sub = engine.submit_case(sample_case())
    assert engine.wait_case_ack(sub.case_id, 20)["result"] == "accepted"
    wait_until(lambda: engine.downlink.dropped >= 3, 5, "three manifests dropped")
    assert installed == [] and engine.current_catalog() is None


def _results(peer):
    """First cmd.result per cmd_id."""
    out: dict[str, dict[str, Any]] = {}
    for e in peer.events:
        if e["type"] == "cmd.result":
            out.setdefault(e["cmd_id"], e)
    return out


def test_commands_verified_expiring_and_replay_proof(broker, peer, make_engine, cmd_signer):
    from tests.edge_sync.conftest import Signer
    engine = make_engine(broker.url, start=False)
    ran: list[str] = []

    def on_command(cmd: dict[str, Any]) -> tuple[bool, Any]:
        ran.append(cmd["cmd_id"])
        return True, "done"
    engine.on_command = on_command
    engine.start()
    assert engine.wait_online(10)
    topic = f"gov/v1/down/{DEVICE}/cmd"

    def cmd(cmd_id, expires=300, signer=cmd_signer):
        body = {"type": "cmd", "v": 1, "cmd_id": cmd_id, "name": "lock", "args": {"reason": "维护"},
                "issued_at": iso(), "expires_at": iso(expires)}
        return signer.sign(body) if signer else {**body, "key_id": cmd_signer.key_id}

    good = cmd("c-good")
    peer.publish(topic, json.dumps(good, ensure_ascii=False).encode())
    wait_until(lambda: "c-good" in _results(peer), 10, "result of the good command")
    peer.publish(topic, json.dumps(good, ensure_ascii=False).encode())                 # replay
    peer.publish(topic, json.dumps(cmd("c-expired", expires=-60)).encode())
    peer.publish(topic, json.dumps(cmd("c-unsigned", signer=None)).encode())
    peer.publish(topic, json.dumps(cmd("c-forged", signer=Signer(cmd_signer.key_id))).encode())
    tampered = dict(cmd("c-tampered"), name="reboot")
    peer.publish(topic, json.dumps(tampered).encode())
    wait_until(lambda: len([e for e in peer.events if e["type"] == "cmd.result"]) >= 6, 10, "six results")
    results = _results(peer)
    assert results["c-good"]["ok"] is True and results["c-good"]["detail"] == "done"
    replays = [e for e in peer.events if e["type"] == "cmd.result" and e["cmd_id"] == "c-good"]
    assert [e["ok"] for e in replays] == [True, False] and "replayed" in replays[1]["detail"]
    for name, why in (("c-expired", "expired"), ("c-unsigned", "unsigned"), ("c-forged", "bad signature"),
                      ("c-tampered", "bad signature")):
        assert results[name]["ok"] is False and why in results[name]["detail"], name
    assert ran == ["c-good"]



def test_purge_cache_by_the_engine_alone_or_handed_to_the_application(broker, peer, make_engine, cmd_signer):
    engine = make_engine(broker.url)
    assert engine.wait_online(10)
    topic = f"gov/v1/down/{DEVICE}/cmd"

    def purge(cmd_id: str) -> None:
        body = {"type": "cmd", "v": 1, "cmd_id": cmd_id, "name": "purge_cache", "args": {},
                "issued_at": iso(), "expires_at": iso(300)}
        peer.publish(topic, json.dumps(cmd_signer.sign(body)).encode())
        wait_until(lambda: cmd_id in _results(peer), 10, f"result of {cmd_id}")

    engine.downlink.put_view("q:Q1", {"status": "受理"})
    purge("c-alone")                                       # no application: the engine purges itself
    assert _results(peer)["c-alone"]["ok"] is True and engine.downlink.cached_view("q:Q1") is None
    handed: list[str] = []

    def on_command(cmd: dict[str, Any]) -> tuple[bool, Any]:
        handed.append(cmd["name"])
        return True, f"purged {engine.purge_cache()}"
    engine.on_command = on_command
    engine.downlink.put_view("q:Q2", {"status": "受理"})
    purge("c-app")                                          # an application: it decides (and audits)
    assert handed == ["purge_cache"] and _results(peer)["c-app"]["detail"] == "purged 1"
    assert engine.downlink.cached_view("q:Q2") is None


def test_notify_updates_the_cache_and_calls_back(broker, peer, make_engine):
    engine = make_engine(broker.url, start=False)
    notes: list[dict[str, Any]] = []
    engine.on_notify = notes.append
    engine.start()
    sub = engine.submit_case(sample_case())
    assert engine.wait_case_ack(sub.case_id, 20)
    view = {"item_name": "营业执照", "status": "in_review", "steps": [], "applicant_masked": "张*三"}
    peer.publish(f"gov/v1/down/{DEVICE}/notify", json.dumps(
        {"type": "notify", "v": 1, "case_id": sub.case_id, "query_code": sub.query_code, "status": "in_review",
         "case": view}, ensure_ascii=False).encode())
    wait_until(lambda: notes, 10, "notify callback")
    peer.stop()                                                   # central gone: the cache answers
    answer = engine.query_case(sub.query_code, timeout=0.5)
    assert answer.cached and answer["case"]["status"] == "in_review" and answer.age_s >= 0
    assert engine.store.scalar("SELECT status FROM cases WHERE case_id = ?", (sub.case_id,)) == "in_review"
    peer.start()


TOPICS = [f"gov/v1/down/{DEVICE}/{k}" for k in ("ack", "reply", "notify", "cmd", "other")] + \
    ["gov/v1/catalog/manifest", "gov/v1/catalog/7/part/0", "gov/v1/site/511902-HALL-01/x", "gov/v1/elsewhere"]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=5), max_leaves=12)
FIELDS = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["ack", "cmd", "notify", "catalog.manifest", "case.status", "x"]) | st.text(max_size=5),
    "v": st.integers(-1, 2), "ref": st.text(max_size=40), "result": st.sampled_from(
        ["accepted", "duplicate", "rejected", "incomplete", "stored", "missing", "corrupt", "?"]),
    "detail": JSON, "cmd_id": st.text(max_size=10), "expires_at": st.text(max_size=30), "sig": st.text(max_size=20),
    "key_id": st.sampled_from(["cmd-2026", "cat-2026", ""]), "version": JSON, "parts": JSON, "case_id": JSON,
    "query_code": JSON, "status": JSON, "case": JSON, "size": JSON, "sha256": JSON, "server_time": JSON})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=st.sampled_from(TOPICS),
       payload=st.binary(max_size=200) | FIELDS.map(lambda d: json.dumps(d).encode()) |
       JSON.map(lambda d: json.dumps(d).encode()))
def test_malformed_downlink_never_raises(offline_engine, topic, payload):
    offline_engine.downlink.handle(topic, payload, b"\x00" * 16)


@pytest.fixture(scope="module")
def offline_engine(tmp_path_factory, cmd_signer, cat_signer):
    from edge_sync import SyncConfig, SyncEngine
    cfg = SyncConfig(device_id=DEVICE, site_id="511902-HALL-01", mqtt_url="mqtt://127.0.0.1:1",
                     data_dir=tmp_path_factory.mktemp("offline"), min_free_mb=1,
                     command_keys={cmd_signer.key_id: cmd_signer.public_b64},
                     catalog_keys={cat_signer.key_id: cat_signer.public_b64})
    engine = SyncEngine(cfg)
    engine.drain.start(engine.supervisor)   # acks go somewhere; no session (nothing to connect to)
    yield engine
    engine.drain.stop()
    engine.store.close()


def test_malformed_downlink_over_the_broker_leaves_the_loop_alive(broker, peer, make_engine):
    engine = make_engine(broker.url)
    assert engine.wait_online(10)
    garbage = [b"", b"\xff\xfe", b"[1,2]", b'{"type":"ack"}', b'{"type":"cmd","sig":"!!"}',
               b'{"type":"catalog.manifest","version":1e309}', b"{" * 5000]
    for kind in ("ack", "reply", "notify", "cmd"):
        for g in garbage:
            peer.publish(f"gov/v1/down/{DEVICE}/{kind}", g)
    for g in garbage:
        peer.publish("gov/v1/catalog/manifest", g)
        peer.publish("gov/v1/catalog/3/part/0", g)
    sub = engine.submit_case(sample_case())
    assert engine.wait_case_ack(sub.case_id, 20)["result"] == "accepted"
    assert engine.session.connected.is_set()
    assert engine.supervisor.all_alive() and engine.supervisor.restarts() == 0
