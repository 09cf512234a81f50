"""Requests with offline fallback and the clock check, against a real mosquitto and the test peer."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from edge_sync import ClockState, Offline, Reply, mint_query_code
from tests.edge_sync.central_peer import CentralPeer
from tests.edge_sync.conftest import sample_case, wait_until

pytestmark = pytest.mark.integration


def test_query_online_then_cached_view_with_age_offline(broker, peer, make_engine):
    engine = make_engine(broker.url)
    sub = engine.submit_case(sample_case())
    assert engine.wait_case_ack(sub.case_id, 20)
    online = engine.query_case(sub.query_code, timeout=5)
    assert isinstance(online, Reply) and not online.cached and online["found"] is True
    request = peer.requests[-1]
    assert request["type"] == "case.query" and request["query_code"] == sub.query_code and request["seq"] >= 1
    peer.stop()
    started = time.monotonic()
    cached = engine.query_case(sub.query_code, timeout=0.5)
    assert time.monotonic() - started < 3            # the caller's own timeout bounds the wait
    assert cached.cached and cached["case"] == online["case"] and cached.age_s >= 0
    assert isinstance(engine.query_case(mint_query_code(), timeout=0.3), Offline)
    peer.start()


def test_offline_when_broker_is_down_and_late_replies_are_ignored(broker, peer, make_engine):
    engine = make_engine(broker.url)
    assert engine.wait_online(10)
    peer.reply_delay = 1.0
    answer = engine.request("queue.take", {"category": "SOC", "priority": "normal", "cases": 1}, timeout=0.3)
    assert isinstance(answer, Offline) and not answer
    peer.reply_delay = 0.0
    time.sleep(1.0)                                   # the late reply arrives now and is dropped
    fresh = engine.request("queue.take", {"category": "ECO", "priority": "normal", "cases": 1}, timeout=5)
    assert isinstance(fresh, Reply) and fresh["ok"] is True
    list_answer = engine.list_cases({"id_type": "resident", "id_no": "51190219800101123X"}, timeout=5)
    assert isinstance(list_answer, Reply)
    broker.stop()
    wait_until(lambda: not engine.session.connected.is_set(), 10, "disconnect")
    assert isinstance(engine.request("queue.take", {"category": "SOC"}, timeout=2), Offline)
    with pytest.raises(ValueError):
        engine.request("case.delete", {}, timeout=1)


def test_clock_known_wrong_from_server_time(broker, make_engine):
    def skewed() -> str:
        return (datetime.now().astimezone() + timedelta(hours=3)).isoformat(timespec="seconds")

    with CentralPeer(broker.url, server_time=skewed):
        engine = make_engine(broker.url)
        assert engine.trusted_now() is not None          # not known wrong yet
        sub = engine.submit_case(sample_case())
        assert engine.wait_case_ack(sub.case_id, 20)
        wait_until(lambda: engine.trusted_now() is None, 5, "clock marked wrong")
        health = engine.health()
        assert health.clock_ok is False and health.clock is ClockState.WRONG and health.clock_offset_s > 3000


def test_clock_ok_with_a_right_server_time(broker, peer, make_engine):
    engine = make_engine(broker.url)
    sub = engine.submit_case(sample_case())
    assert engine.wait_case_ack(sub.case_id, 20)
    assert engine.health().clock is ClockState.OK and engine.trusted_now() is not None
