"""Recovery without timers: terminals re-send what is unacked as soon as central's retained online state
says an instance is (back) online, hold their messages while central is away, and get every case to
central once and in order after a broker restart and after central is killed. The ack timeout is 60 s
in these tests, so only the mechanisms under test can recover within the waits."""
from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt
import pytest

from tests.fleet.harness import Fleet, assert_exactly_once_in_order, start_central, stats, wait_until

pytestmark = pytest.mark.integration

PATIENT = 60.0      # ack timeout: far beyond every wait below


@pytest.fixture
def fleet(broker, tmp_path):
    f = Fleet(broker.url, tmp_path, 3, ack_timeout_s=PATIENT)
    try:
        yield f
    finally:
        f.stop()


def test_broker_restart_every_outbox_empties_without_waiting_for_a_timer(broker, tmp_path, fleet):
    central = start_central(broker.url, tmp_path, None)
    try:
        fleet.start()
        fleet.submit(30)
        fleet.wait_empty(30)
        broker.stop()
        fleet.submit(30)                            # durable while the broker is away
        broker.start()
        fleet.wait_empty(30)
        assert_exactly_once_in_order(central.ready["db"], fleet)
        assert sum(e.drain.stats["resent"] for e in fleet.engines) == 0     # no timer fired
    finally:
        central.stop()


def test_central_killed_mid_drain_its_successor_gets_everything_once(broker, tmp_path, fleet):
    central = start_central(broker.url, tmp_path, None)
    try:
        fleet.start()
        fleet.submit(150)
        wait_until(lambda: stats(central)["handled"] > 0, 20, "central working")
        assert central.proc is not None
        central.proc.kill()                         # unacked messages in its memory are gone with it
        central.proc.wait(10)
        central = start_central(broker.url, tmp_path, None)
        fleet.wait_empty(40)
        assert_exactly_once_in_order(central.ready["db"], fleet)
        assert all(e.drain.stats["central_births"] >= 1 for e in fleet.engines)
        assert sum(e.drain.stats["resent"] for e in fleet.engines) == 0
    finally:
        central.stop()


def test_terminals_hold_while_central_is_away_and_send_at_its_return(broker, tmp_path, fleet):
    central = start_central(broker.url, tmp_path, None, "--instance", "central-1")
    try:
        fleet.start()
        fleet.submit(5)
        fleet.wait_empty(20)
        central.stop()                              # a clean stop says "offline" (retained)
        wait_until(lambda: all(e.drain.presence.central_away() for e in fleet.engines), 10, "offline seen")
        sent = [e.drain.stats["sent"] for e in fleet.engines]
        fleet.submit(20)
        time.sleep(1.0)
        assert [e.drain.stats["sent"] for e in fleet.engines] == sent      # nothing sent into the void
        central = start_central(broker.url, tmp_path, None, "--instance", "central-1")
        fleet.wait_empty(30)
        assert_exactly_once_in_order(central.ready["db"], fleet)
    finally:
        central.stop()


def test_cases_go_before_events(broker, tmp_path, fleet):
    seen: list[str] = []
    spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="spy", protocol=mqtt.MQTTv5)
    spy.on_message = lambda _c, _u, msg: seen.append(json.loads(msg.payload).get("type", ""))
    spy.connect("127.0.0.1", broker.port)
    spy.subscribe("gov/v1/up/+/case", qos=1)
    spy.subscribe("gov/v1/up/+/event", qos=1)
    spy.loop_start()
    engine = fleet.engines[0]
    try:
        for i in range(5):
            engine.send_event("ticket.issued", {"number": f"A00{i}", "category": "SOC", "priority": "normal"})
        fleet.submitted[engine.config.device_id] = [engine.submit_case(c) for c in _cases(5)]
        engine.start()
        wait_until(lambda: len(seen) >= 10, 20, "ten messages on the wire")
        assert seen[:5] == ["case.submit"] * 5 and sorted(seen[5:10]) == ["ticket.issued"] * 5
    finally:
        spy.loop_stop()
        spy.disconnect()


def _cases(n: int) -> list[dict]:
    from tests.edge_sync.conftest import sample_case
    return [sample_case(i) for i in range(n)]
