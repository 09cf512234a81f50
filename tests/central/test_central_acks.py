"""Acks of the central simulator (contract §3–§5, §7, §1) against a fake kiosk over a real mosquitto."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from simulators.central import store
from tests.central.conftest import command

pytestmark = pytest.mark.integration
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")


def test_case_accepted_with_case_no_and_promised_date(central, kiosk, catalog_file):
    case = kiosk.send_case(kiosk.case())
    ack = kiosk.wait_ack(case["msg_id"])
    assert ack["type"] == "ack" and ack["v"] == 1 and ack["result"] == "accepted"
    assert TIME_RE.match(ack["server_time"]) and TIME_RE.match(ack["at"])
    detail = ack["detail"]
    assert detail["status"] == "received" and detail["case_no"]
    # 企业设立登记 promises 2 working days: at least two days after today (China time), on a working day
    cal = json.loads(catalog_file.read_text(encoding="utf-8"))["calendar"]
    promised = date.fromisoformat(detail["promised_by"])
    today = datetime.now(timezone(timedelta(hours=8))).date()
    assert (promised - today).days >= 2
    assert promised.isoformat() in cal["adjusted_workdays"] or (
        promised.weekday() < 5 and promised.isoformat() not in cal["holidays"])
    rows = store.device_cases(central.ready["db"], kiosk.device)
    got = [(r["case_id"], r["case_no"], r["status"]) for r in rows]
    assert got == [(case["case_id"], detail["case_no"], "received")]


def test_duplicate_by_msg_id_and_by_case_id_repeat_first_outcome(central, kiosk):
    case = kiosk.send_case(kiosk.case())
    first = kiosk.wait_ack(case["msg_id"])
    kiosk.send_case(case)  # the same message again (ack lost on the way)
    again = kiosk.wait(lambda d: d.kind == "ack" and d.json["ref"] == case["msg_id"] and d.json["result"] != "accepted")
    assert again.json["result"] == "duplicate" and again.json["detail"] == first["detail"]
    resent = kiosk.send_case({**case, "msg_id": "other-" + case["msg_id"]})  # same case, new msg_id
    by_case = kiosk.wait_ack(resent["msg_id"])
    assert by_case["result"] == "duplicate" and by_case["detail"] == first["detail"]
    assert len(store.device_cases(central.ready["db"], kiosk.device)) == 1


@pytest.mark.parametrize("change, reason_part", [
    ({"query_code": "7KQ2M9XDPA4TH6WRQ"}, "query_code"),          # wrong check symbol (P is right)
    ({"query_code": "7kq2m9xdpa4th6wrp"}, "query_code"),          # not canonical
    ({"device": "KSK-511902-0008"}, "device"),                    # payload device ≠ topic device
    ({"v": 2}, "v must be 1"),
    ({"seq": -1}, "seq"),
    ({"sent_at": "yesterday"}, "sent_at"),
    ({"channel": "phone"}, "channel"),
    ({"applicant": {"name": "张伟", "id_type": "passport", "id_no": "X"}}, "id_type"),
    ({"materials": [{"code": "M02", "source": "scan"}]}, "blob"),
])
def test_invalid_case_rejected_with_reason(central, kiosk, change, reason_part):
    case = kiosk.send_case({**kiosk.case(), **change})
    ack = kiosk.wait_ack(case["msg_id"])
    assert ack["result"] == "rejected" and reason_part in ack["detail"]["reason"]
    assert store.device_cases(central.ready["db"], kiosk.device) == []


def test_unknown_type_dropped_and_non_json_dropped(central, kiosk):
    unknown = kiosk.envelope("case", "case.teleport")
    kiosk.publish("case", unknown)
    kiosk.publish("case", b"\xff\xfe not json")
    case = kiosk.send_case(kiosk.case())
    assert kiosk.wait_ack(case["msg_id"])["result"] == "accepted"
    assert kiosk.acks(unknown["msg_id"]) == []


def test_case_with_missing_blob_incomplete_until_blob_stored(central, kiosk):
    data = os.urandom(150_000)
    sha = hashlib.sha256(data).hexdigest()
    materials = [{"code": "M03", "source": "scan",
                  "blob": {"id": "b-1", "sha256": sha, "size": len(data), "pages": 2, "mime": "application/pdf"}}]
    case = kiosk.send_case(kiosk.case(materials=materials))
    ack = kiosk.wait_ack(case["msg_id"])
    assert ack["result"] == "incomplete" and ack["detail"]["missing_blobs"] == ["b-1"]
    ids = kiosk.send_blob("b-1", data, chunk=65536)
    stored = kiosk.wait_ack(ids[-1])
    assert stored["result"] == "stored" and stored["detail"]["blob_id"] == "b-1"
    assert store.blob_data(central.ready["db"], "b-1") == data
    kiosk.send_case(case)  # the same msg_id is judged again now that the blob is in
    assert kiosk.wait(lambda d: d.kind == "ack" and d.json["ref"] == case["msg_id"]
                      and d.json["result"] == "accepted").json["detail"]["case_no"]


def test_blob_corrupt_then_missing_then_stored(central, kiosk):
    data = os.urandom(200_000)
    ids = kiosk.send_blob("b-bad", data, chunk=65536, sha="0" * 64)
    corrupt = kiosk.wait_ack(ids[-1])
    assert corrupt["result"] == "corrupt" and corrupt["detail"]["blob_id"] == "b-bad"
    # a resend with chunks 1 and 2 lost: the last index shows the gap
    ids = kiosk.send_blob("b-bad", data, chunk=65536, only=[0, 3])
    missing = kiosk.wait_ack(ids[-1])
    assert missing["result"] == "missing" and missing["detail"]["missing_chunks"] == [1, 2]
    ids = kiosk.send_blob("b-bad", data, chunk=65536, only=[1, 2])
    assert kiosk.wait_ack(ids[-1])["result"] == "stored"
    assert store.blob_data(central.ready["db"], "b-bad") == data
    assert store.counts(central.ready["db"])["blob_chunks"] == 0


def test_chunk_without_properties_rejected(central, kiosk):
    msg_id = kiosk.send_chunk("b-x", b"abc", 5, 2, 3, "a" * 64)  # index beyond count
    assert kiosk.wait_ack(msg_id)["result"] == "rejected"


def test_test_case_acked_then_discarded(central, kiosk):
    case = kiosk.send_case(kiosk.case(test=True))
    assert kiosk.wait_ack(case["msg_id"])["result"] == "accepted"
    assert store.counts(central.ready["db"])["cases"] == 0


def test_events_acked_stored_and_deduplicated(central, kiosk):
    event = kiosk.envelope("event", "evaluation", query_code="7KQ2M9XDPA4TH6WRP", score=5, tags=["快"], comment="好")
    kiosk.publish("event", event)
    assert kiosk.wait_ack(event["msg_id"])["result"] == "accepted"
    kiosk.publish("event", event)
    kiosk.wait(lambda d: d.kind == "ack" and d.json["ref"] == event["msg_id"] and d.json["result"] == "duplicate")
    bad = kiosk.envelope("event", "evaluation", score=9)
    kiosk.publish("event", bad)
    assert kiosk.wait_ack(bad["msg_id"])["result"] == "rejected"
    assert store.counts(central.ready["db"])["events"] == 1


def test_reject_drop_and_duplicate_ack_controls(central, kiosk):
    command(central, "reject-next 材料不齐")
    rejected = kiosk.send_case(kiosk.case())
    ack = kiosk.wait_ack(rejected["msg_id"])
    assert ack["result"] == "rejected" and ack["detail"]["reason"] == "材料不齐"
    command(central, "drop-acks 1")
    dropped = kiosk.send_case(kiosk.case())
    command(central, "dup-acks on")
    doubled = kiosk.send_case(kiosk.case())
    kiosk.wait_until(lambda: len(kiosk.acks(doubled["msg_id"])) == 2)
    assert kiosk.acks(dropped["msg_id"]) == []  # central stored it but the ack was lost
    kiosk.send_case(dropped)
    assert kiosk.wait_ack(dropped["msg_id"])["result"] == "duplicate"
    assert len(store.device_cases(central.ready["db"], kiosk.device)) == 2


def test_will_older_than_birth_ignored(central, kiosk):
    def state(online: bool, epoch: int) -> dict:
        return {"type": "state", "v": 1, "online": online, "epoch": epoch}

    kiosk.publish("state", state(True, 7))
    central.wait_json(lambda o: o.get("event") == "device" and o["epoch"] == 7 and o["online"], timeout=10)
    kiosk.publish("state", state(False, 6))  # the late will of an earlier connection
    probe = kiosk.envelope("event", "help.requested")
    kiosk.publish("event", probe)
    kiosk.wait_ack(probe["msg_id"])  # central has handled the will by now
    query = "SELECT online, epoch, birth_epoch FROM devices"
    assert store.rows(central.ready["db"], query) == [{"online": 1, "epoch": 7, "birth_epoch": 7}]
    kiosk.publish("state", state(False, 7))  # this connection's own will
    central.wait_json(lambda o: o.get("event") == "device" and o["epoch"] == 7 and not o["online"], timeout=10)
    assert store.rows(central.ready["db"], query) == [{"online": 0, "epoch": 7, "birth_epoch": 7}]


def test_pause_holds_acks_until_resume(central, kiosk):
    command(central, "pause")
    case = kiosk.send_case(kiosk.case())
    time.sleep(0.5)  # give a (wrong) ack the chance to arrive while paused
    assert kiosk.acks(case["msg_id"]) == []
    command(central, "resume")
    assert kiosk.wait_ack(case["msg_id"])["result"] == "accepted"


def test_central_rides_out_a_broker_restart(central, kiosk, broker):
    before = kiosk.send_case(kiosk.case())
    kiosk.wait_ack(before["msg_id"])
    broker.stop()
    broker.start()  # same port; central and the fake kiosk reconnect by themselves
    after = kiosk.case()
    deadline = time.monotonic() + 30
    while True:  # the kiosk re-sends until central answers, as a real one does after reconnecting
        try:
            kiosk.send_case(after)
            ack = kiosk.wait_ack(after["msg_id"], timeout=2)
            break
        except (TimeoutError, RuntimeError):  # not yet reconnected (kiosk or central)
            assert time.monotonic() < deadline, "central never came back after the broker restart"
            time.sleep(0.2)
    assert ack["result"] == "accepted"
