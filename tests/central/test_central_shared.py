"""Two central instances on one database behind a shared subscription, and a restarted central: nothing
doubled, nothing forgotten."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from simulators.central import store
from tests.central.conftest import command, start_central, wait_stats

pytestmark = pytest.mark.integration


def wait_all_acks(kiosk, refs: list[str], per_ref: int = 1, timeout: float = 30.0) -> None:
    wanted = Counter({ref: per_ref for ref in refs})

    def complete() -> bool:
        got = Counter(d.json["ref"] for d in kiosk.received if d.kind == "ack")
        return all(got[ref] >= n for ref, n in wanted.items())

    kiosk.wait_until(complete, timeout)


def test_two_instances_side_by_side_double_nothing(broker, tmp_path, catalog_file, kiosk):
    one = start_central(broker, tmp_path, catalog_file, "--pace", "0.5")
    two = start_central(broker, tmp_path, catalog_file, "--pace", "0.5")
    try:
        cases = [kiosk.send_case(kiosk.case()) for _ in range(120)]
        data = os.urandom(300_000)
        chunk_ids = kiosk.send_blob("b-shared", data, chunk=32768)  # chunks land on both instances
        wait_all_acks(kiosk, [c["msg_id"] for c in cases])
        acks = [d.json for d in kiosk.received if d.kind == "ack"]
        case_acks = Counter(a["ref"] for a in acks if a["ref"] in {c["msg_id"] for c in cases})
        assert set(case_acks.values()) == {1}  # one answer per message: no instance saw it twice
        assert {a["result"] for a in acks if a["ref"] in case_acks} == {"accepted"}
        assert len({a["detail"]["case_no"] for a in acks if a["ref"] in case_acks}) == 120
        # re-sends of every case, by msg_id and by case_id, spread over both instances
        for case in cases[:60]:
            kiosk.send_case(case)
        renamed = [kiosk.send_case({**c, "msg_id": "again-" + c["msg_id"]}) for c in cases[60:]]
        wait_all_acks(kiosk, [c["msg_id"] for c in cases[:60]], per_ref=2)
        wait_all_acks(kiosk, [c["msg_id"] for c in renamed])
        later = [d.json for d in kiosk.received if d.kind == "ack"][len(acks):]
        assert {a["result"] for a in later if a["ref"] in case_acks or a["ref"].startswith("again-")} == {"duplicate"}
        db = one.ready["db"]
        rows = store.device_cases(db, kiosk.device)
        assert sorted(r["case_id"] for r in rows) == sorted(c["case_id"] for c in cases)
        # the blob: whole once, whichever instance saw its last chunk
        kiosk.wait(lambda d: d.kind == "ack" and d.json["result"] in ("stored", "missing")
                   and d.json["detail"].get("blob_id") == "b-shared")
        if store.blob_data(db, "b-shared") is None:  # the last chunk overtook one on the other instance
            missing = [d.json for d in kiosk.received if d.kind == "ack" and d.json["result"] == "missing"][-1]
            kiosk.send_blob("b-shared", data, chunk=32768, only=missing["detail"]["missing_chunks"])
            kiosk.wait(lambda d: d.kind == "ack" and d.json["result"] == "stored")
        assert store.blob_data(db, "b-shared") == data and len(chunk_ids) == 10
        # progress: each instance ticks, yet every status change is pushed once
        command(one, "advance 40")
        command(two, "advance 40")
        kiosk.wait_until(lambda: sum(1 for d in kiosk.received if d.kind == "notify"
                                     and d.json["status"] == "ready_for_pickup") >= 120, timeout=60)
        notes = Counter((d.json["case_id"], d.json["status"]) for d in kiosk.received if d.kind == "notify")
        assert set(notes.values()) == {1} and len(notes) == 120 * 5
        for sim in (one, two):  # the broker did share the work out
            wait_stats(sim, lambda stats: stats["handled"] > 0)
    finally:
        one.stop()
        two.stop()


def test_restarted_central_remembers_what_it_acked(broker, tmp_path, catalog_file, kiosk):
    sim = start_central(broker, tmp_path, catalog_file)
    cases = [kiosk.send_case(kiosk.case()) for _ in range(20)]
    wait_all_acks(kiosk, [c["msg_id"] for c in cases])
    sim.stop()
    sim = start_central(broker, tmp_path, catalog_file)
    try:
        for case in cases:
            kiosk.send_case(case)
        wait_all_acks(kiosk, [c["msg_id"] for c in cases], per_ref=2)
        assert Counter(d.json["result"] for d in kiosk.received if d.kind == "ack") == {"accepted": 20, "duplicate": 20}
        rows = store.device_cases(sim.ready["db"], kiosk.device)
        assert [r["case_id"] for r in rows] == [c["case_id"] for c in cases]  # received order kept
        assert [r["seq"] for r in rows] == list(range(1, 21))
    finally:
        sim.stop()


def test_killed_central_never_acked_what_it_did_not_keep(broker, tmp_path, catalog_file, kiosk):
    sim = start_central(broker, tmp_path, catalog_file)
    cases = [kiosk.case() for _ in range(2000)]
    for case in cases:
        kiosk.publish("case", case, wait=False)
    kiosk.wait_until(lambda: kiosk.ack_count() >= 100, timeout=30)
    assert sim.proc is not None
    sim.proc.kill()  # SIGKILL in the middle of the drain
    sim.proc.wait(10)
    sim.stop()
    acked_before = {d.json["ref"]: d.json["detail"] for d in kiosk.received if d.kind == "ack"}
    sim = start_central(broker, tmp_path, catalog_file)
    try:
        start = len(kiosk.received)
        start_acks = kiosk.ack_count()
        for case in cases:  # the kiosk re-sends everything it has no ack for (here: simply everything)
            kiosk.publish("case", case, wait=False)
        kiosk.wait_until(lambda: kiosk.ack_count() - start_acks >= len(cases), timeout=60)
        after = {d.json["ref"]: d.json for d in kiosk.received[start:] if d.kind == "ack"}
        for ref, detail in acked_before.items():  # everything acked before the kill was kept
            assert after[ref]["result"] == "duplicate" and after[ref]["detail"] == detail
        rows = store.device_cases(sim.ready["db"], kiosk.device)
        assert sorted(r["case_id"] for r in rows) == sorted(c["case_id"] for c in cases)
        assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)  # one kiosk, in order: order kept
    finally:
        sim.stop()


def test_named_instance_gets_what_was_sent_while_it_was_down(broker, tmp_path, catalog_file, kiosk):
    sim = start_central(broker, tmp_path, catalog_file, "--client-id", "central-a")
    sim.stop()
    case = kiosk.send_case(kiosk.case())  # queued by the broker for the named session
    sim = start_central(broker, tmp_path, catalog_file, "--client-id", "central-a")
    try:
        assert kiosk.wait_ack(case["msg_id"], timeout=15)["result"] == "accepted"
    finally:
        sim.stop()
