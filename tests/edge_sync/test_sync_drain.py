"""Outbox drain against a real mosquitto and the in-test central peer: happy path, outages, acks
dropped and doubled, rejected and incomplete cases, attachments, small packets, resume."""
from __future__ import annotations

import hashlib
import json
import os
import time

import paho.mqtt.client as mqtt
import pytest

from edge_sync import Attachment
from tests.edge_sync.central_peer import CentralPeer
from tests.edge_sync.conftest import DEVICE, ID_NUMBERS, sample_case, wait_until
from tests.support.broker import Broker

pytestmark = pytest.mark.integration


def _all_acked(engine, subs, timeout=30.0):
    for s in subs:
        outcome = engine.wait_case_ack(s.case_id, timeout)
        assert outcome is not None, f"case {s.seq} not acked"
        assert outcome["result"] in ("accepted", "duplicate")


def _assert_exactly_once_in_order(peer, subs):
    ids = [case_id for _, _, case_id in peer.case_order]
    assert sorted(ids) == sorted(s.case_id for s in subs)
    assert len(ids) == len(set(ids))
    seqs = [seq for _, seq, _ in peer.case_order]
    assert seqs == sorted(seqs)


def test_happy_path_cases_attachment_birth_and_status(broker, peer, make_engine):
    engine = make_engine(broker.url)
    subs = [engine.submit_case(sample_case(i)) for i in range(50)]
    data = os.urandom(300_000)
    with_blob = engine.submit_case(sample_case(), [Attachment("M02", data, "application/pdf", pages=2)])
    _all_acked(engine, subs + [with_blob])
    _assert_exactly_once_in_order(peer, subs + [with_blob])
    outcome = engine.case_outcome(subs[0].case_id)
    assert outcome["case_no"] and outcome["promised_by"] == "2026-12-09" and outcome["status"] == "received"
    envelope = peer.cases[with_blob.case_id]
    blob = next(m["blob"] for m in envelope["materials"] if m["code"] == "M02")
    assert peer.stored_blobs[blob["id"]] == data and blob["sha256"] == hashlib.sha256(data).hexdigest()
    assert envelope["device"] == DEVICE and envelope["seq"] == with_blob.seq
    assert envelope["applicant"]["name"] == "张三"
    births = [s for s in peer.states if s["online"]]
    assert births and births[0]["epoch"] >= 1 and "outbox" in births[0] and births[0]["sw"]
    status = wait_until(lambda: (st := engine.status())["outbox_total"] == 0 and st, 10, "empty outbox")
    assert status["connected"] and status["last_ack"] and status["epoch"] >= 1
    raw = b"".join(p.read_bytes() for p in engine.config.data_dir.glob("sync.db*"))
    assert not any(n.encode() in raw for n in ID_NUMBERS)      # also after acks, cache and birth


def test_broker_stopped_and_restarted_mid_drain(broker, peer, make_engine):
    engine = make_engine(broker.url)
    subs = [engine.submit_case(sample_case(i)) for i in range(400)]
    wait_until(lambda: peer.case_count() >= 20, 20, "first acks")
    broker.stop()
    wait_until(lambda: not engine.session.connected.is_set(), 10, "disconnect noticed")
    subs += [engine.submit_case(sample_case(i)) for i in range(100)]   # durable while offline
    epoch_before = engine.status()["epoch"]
    broker.start()
    _all_acked(engine, subs, timeout=60)
    _assert_exactly_once_in_order(peer, subs)
    assert engine.status()["epoch"] > epoch_before
    births = [s["epoch"] for s in peer.states if s["online"]]
    assert len(births) >= 2 and births == sorted(births) and births[-1] > epoch_before - 1


def test_central_stopped_and_restarted(broker, peer, make_engine):
    engine = make_engine(broker.url, ack_timeout_s=1.0)
    first = [engine.submit_case(sample_case(i)) for i in range(50)]
    _all_acked(engine, first)
    peer.stop()
    later = [engine.submit_case(sample_case(i)) for i in range(100)]
    assert all(engine.case_outcome(s.case_id) is None for s in later[:5])
    peer.start()
    _all_acked(engine, later, timeout=60)
    ids = [case_id for _, _, case_id in peer.case_order]
    assert sorted(ids) == sorted(s.case_id for s in first + later) and len(ids) == len(set(ids))


def test_acks_dropped_and_duplicated(broker, make_engine):
    with CentralPeer(broker.url, drop_acks=0.3, dup_acks=0.3, seed=7) as peer:
        # Re-sends back off from 0.25 s (base × 2^attempt): a case whose ack is dropped 5 times running
        # waits ~8-12 s, not 31-46 s as from 1 s. Re-sends central answers as duplicates are part of the test.
        engine = make_engine(broker.url, ack_timeout_s=0.25)
        subs = [engine.submit_case(sample_case(i)) for i in range(200)]
        _all_acked(engine, subs, timeout=60)
        _assert_exactly_once_in_order(peer, subs)
        assert peer.case_msgs > len(subs)     # re-sends happened, central answered them as duplicates
        assert engine.status()["outbox"]["case"] == 0


def test_rejected_case_stops_and_raises_alarm(broker, make_engine):
    def decide(env):
        return ("rejected", {"reason": "item withdrawn"}) if env["item"]["code"] == "BAD" else None

    with CentralPeer(broker.url, decide=decide) as peer:
        engine = make_engine(broker.url, start=False, ack_timeout_s=1.0)
        alarms = []
        engine.on_alarm = lambda reason, fields: alarms.append((reason, fields))
        engine.start()
        bad = engine.submit_case(sample_case(item={"code": "BAD", "situation": "S01"}))
        good = engine.submit_case(sample_case())
        outcome = engine.wait_case_ack(bad.case_id, 20)
        assert outcome["result"] == "rejected" and outcome["reason"] == "item withdrawn"
        assert engine.wait_case_ack(good.case_id, 20)["result"] == "accepted"
        wait_until(lambda: any(e["type"] == "help.requested" and e["reason"] == "case_rejected"
                               for e in peer.events), 10, "alarm event")
        status = engine.status()
        assert status["rejected_cases"] == 1 and status["alarms"][-1]["reason"] == "case_rejected"
        assert alarms and alarms[0][0] == "case_rejected"
        sent_before = peer.case_msgs
        wait_until(lambda: engine.status()["outbox_total"] == 0, 10, "outbox empty")
        # Never re-sent after the rejection, even past several ack timeouts.
        time.sleep(2.5)
        assert peer.case_msgs == sent_before


def test_oversize_attachment_goes_in_chunks(broker, peer, make_engine):
    engine = make_engine(broker.url)
    data = os.urandom(1_300_000)
    sub = engine.submit_case(sample_case(), [Attachment("M02", data, "image/jpeg", blob_id="b-big")])
    assert engine.wait_case_ack(sub.case_id, 30)["result"] == "accepted"
    assert peer.stored_blobs["b-big"] == data
    indexes = [i for b, i in peer.chunk_log if b == "b-big"]
    assert sorted(indexes) == list(range(5))          # ceil(1.3 MB / 256 KiB), each ≤ 256 KiB


def test_small_maximum_packet_size(make_engine):
    with Broker(extra_conf="max_packet_size 20000\n") as small:
        sizes = []
        with CentralPeer(small.url) as peer:
            sniff = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            sniff.on_message = lambda c, u, m: sizes.append(len(m.payload))
            sniff.connect("127.0.0.1", small.port)
            sniff.subscribe(f"gov/v1/up/{DEVICE}/blob", qos=1)
            sniff.loop_start()
            try:
                engine = make_engine(small.url)
                data = os.urandom(100_000)
                sub = engine.submit_case(sample_case(), [Attachment("M02", data, "image/jpeg", blob_id="b-s")])
                assert engine.wait_case_ack(sub.case_id, 30)["result"] == "accepted"
                assert peer.stored_blobs["b-s"] == data
                wait_until(lambda: len(sizes) >= 6, 5, "sniffed chunks")
                assert max(sizes) <= 20000 - 512 and sum(sizes) >= len(data)
            finally:
                sniff.disconnect()
                sniff.loop_stop()


def test_missing_chunks_are_resent_alone(broker, make_engine):
    data = os.urandom(8 * 256 * 1024 - 100)
    with CentralPeer(broker.url, lose_chunks={("b-r", 2), ("b-r", 5)}) as peer:
        engine = make_engine(broker.url)
        sub = engine.submit_case(sample_case(), [Attachment("M02", data, blob_id="b-r")])
        assert engine.wait_case_ack(sub.case_id, 30)["result"] == "accepted"
        assert peer.stored_blobs["b-r"] == data
        assert sorted(i for b, i in peer.chunk_log if b == "b-r") == sorted([*range(8), 2, 5])


def test_corrupt_blob_is_resent_whole(broker, make_engine):
    data = os.urandom(3 * 256 * 1024)
    with CentralPeer(broker.url, corrupt_chunks={("b-c", 1)}) as peer:
        engine = make_engine(broker.url)
        sub = engine.submit_case(sample_case(), [Attachment("M02", data, blob_id="b-c")])
        assert engine.wait_case_ack(sub.case_id, 30)["result"] == "accepted"
        assert peer.stored_blobs["b-c"] == data
        assert sorted(i for b, i in peer.chunk_log if b == "b-c") == [0, 0, 1, 1, 2, 2]


def test_incomplete_case_sends_its_blob_again(broker, make_engine):
    asked: list[int] = []

    def decide(env):
        if not asked:
            asked.append(1)
            blob_id = env["materials"][-1]["blob"]["id"]
            peer.stored_blobs.pop(blob_id)            # central lost it
            return ("incomplete", {"missing_blobs": [blob_id]})
        return None

    with CentralPeer(broker.url, decide=decide) as peer:
        engine = make_engine(broker.url)
        data = os.urandom(600_000)
        sub = engine.submit_case(sample_case(), [Attachment("M02", data, blob_id="b-i")])
        assert engine.wait_case_ack(sub.case_id, 30)["result"] == "accepted"
        assert peer.stored_blobs["b-i"] == data
        assert [i for b, i in peer.chunk_log if b == "b-i"] == [0, 1, 2, 0, 1, 2]


def test_interrupted_upload_resumes_with_only_the_missing_chunks(broker, make_engine):
    data = os.urandom(12 * 256 * 1024)
    lost = {("b-x", i) for i in range(5, 12)}           # the last one too: central never answers
    with CentralPeer(broker.url, lose_chunks=lost) as peer:
        engine = make_engine(broker.url, ack_timeout_s=60)
        sub = engine.submit_case(sample_case(), [Attachment("M02", data, blob_id="b-x")])
        wait_until(lambda: len(peer.chunk_log) >= 12, 20, "first upload")
        wait_until(lambda: json.loads(engine.store.scalar("SELECT pubacked FROM blobs")) == list(range(12)),
                   10, "PUBACKs recorded")
        engine.stop()
        first = len(peer.chunk_log)
        engine2 = make_engine(broker.url, ack_timeout_s=60)
        assert engine2.wait_case_ack(sub.case_id, 30)["result"] == "accepted"
        assert peer.stored_blobs["b-x"] == data
        # One probe (the last chunk) then exactly the chunks central lacked.
        assert peer.chunk_log[first:] == [("b-x", 11)] + [("b-x", i) for i in range(5, 11)]


def test_unreadable_outbox_row_raises_an_alarm_and_stays(broker, peer, make_engine):
    engine = make_engine(broker.url, start=False)
    subs = [engine.submit_case(sample_case(i)) for i in range(3)]
    with engine.store.tx() as c:       # a damaged row (or a replaced key file)
        body = c.execute("SELECT body FROM outbox WHERE msg_id = ?", (subs[1].msg_id,)).fetchone()[0]
        c.execute("UPDATE outbox SET body = ? WHERE msg_id = ?", (body[:-1] + bytes([body[-1] ^ 1]), subs[1].msg_id))
    engine.start()
    for s in (subs[0], subs[2]):
        assert engine.wait_case_ack(s.case_id, 20)["result"] == "accepted"
    status = engine.status()
    assert status["outbox"]["case"] == 1 and status["alarms"][-1]["reason"] == "outbox_row_unreadable"
    assert subs[1].case_id not in peer.cases
