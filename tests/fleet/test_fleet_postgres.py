"""Central that scales out: two simulator instances on one PostgreSQL database behind the broker's
shared subscription. Real sync engines' cases arrive once and in each device's order, re-sends landing on
the other instance are answered as duplicates (the unique key decides), chunks spread over both
instances never draw a false "missing", and queue numbers run per hall."""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from simulators.central import store
from tests.central.fake_kiosk import FakeKiosk
from tests.fleet.harness import Fleet, assert_exactly_once_in_order, start_central, stats

pytestmark = pytest.mark.integration


@pytest.fixture
def pair(broker, tmp_path, postgres, catalog_file):
    db = postgres.new_database()
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"devices": {"KSK-511902-0201": {"site": "HALL-A", "status": "active"},
                                                "KSK-511902-0202": {"site": "HALL-B", "status": "active"}}}))
    sims = [start_central(broker.url, tmp_path, catalog_file, "--instance", f"central-{n}", "--registry",
                          str(registry), db=db, keys=tmp_path / "keys") for n in range(2)]
    try:
        yield db, sims
    finally:
        for sim in sims:
            sim.stop()


def test_two_instances_on_postgres_keep_every_case_once_and_in_order(broker, tmp_path, pair):
    db, sims = pair
    fleet = Fleet(broker.url, tmp_path, 4, ack_timeout_s=60.0)
    try:
        fleet.start()
        fleet.submit(150)
        fleet.wait_empty(60)
        assert_exactly_once_in_order(db, fleet)
        assert all(stats(sim)["handled"] > 0 for sim in sims)        # the broker shared the work out
        assert store.counts(db)["cases"] == 600
    finally:
        fleet.stop()


def test_resends_on_the_other_instance_are_duplicates_and_chunks_draw_no_false_missing(broker, pair):
    db, _ = pair
    kiosk = FakeKiosk(broker.url)
    try:
        cases = [kiosk.send_case(kiosk.case()) for _ in range(60)]
        kiosk.wait_until(lambda: all(kiosk.acks(c["msg_id"]) for c in cases), 30)
        for case in cases:                                   # again, by msg_id and by case_id
            kiosk.send_case(case)
            kiosk.send_case({**case, "msg_id": "again-" + case["msg_id"]})
        kiosk.wait_until(lambda: all(len(kiosk.acks(c["msg_id"])) >= 2 and kiosk.acks("again-" + c["msg_id"])
                                     for c in cases), 30)
        first = Counter(kiosk.acks(c["msg_id"])[0]["result"] for c in cases)
        later = Counter(a["result"] for c in cases
                        for a in kiosk.acks(c["msg_id"])[1:] + kiosk.acks("again-" + c["msg_id"]))
        assert first == {"accepted": 60} and set(later) == {"duplicate"}
        assert store.counts(db)["cases"] == 60
        data = os.urandom(600_000)
        kiosk.send_blob("b-two-consumers", data, chunk=32768)       # 19 chunks over both instances
        kiosk.wait(lambda d: d.kind == "ack" and d.json.get("detail", {}).get("blob_id") == "b-two-consumers"
                   and d.json["result"] in ("stored", "missing"), timeout=20)
        answers = [d.json["result"] for d in kiosk.received
                   if d.kind == "ack" and d.json.get("detail", {}).get("blob_id") == "b-two-consumers"]
        assert answers == ["stored"] and store.blob_data(db, "b-two-consumers") == data
    finally:
        kiosk.close()


def test_queue_numbers_run_per_hall(broker, pair):
    _, _ = pair
    halls = [FakeKiosk(broker.url, device="KSK-511902-0201"), FakeKiosk(broker.url, device="KSK-511902-0202")]
    try:
        numbers = [[k.request("queue.take", category="SOC", priority="normal", cases=1)["number"] for _ in range(2)]
                   for k in halls]
        assert numbers == [["A001", "A002"], ["A001", "A002"]]
    finally:
        for k in halls:
            k.close()
