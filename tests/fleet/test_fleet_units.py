"""Fleet pieces on their own: the addendum's fixed example messages read by the terminal and written by
the central simulator, the terminal's presence and back-off rules, versioned status pushes on a real
store, central's busy/order/grace decisions, catalog claims, the EMQX rules, and hostile downlink bytes."""
from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync import SyncConfig, SyncEngine
from edge_sync.fleet import Backoff, Busy, CentralState, Presence, part_filters
from kiosk.trust.emqx import acl_terms
from kiosk.trust.mosquitto import acl_text
from simulators.central import catalog_pub, store
from simulators.central.catalog import Catalog
from simulators.central.context import Incoming
from simulators.central.flow import FlowControl, MissingGrace, busy_answer
from simulators.central.presence import Announcer
from simulators.central.sequencer import Sequencer

ADDENDUM = Path(__file__).resolve().parents[2] / "docs" / "contract-addendum.md"
DEVICE = "KSK-511902-0007"


def addendum_example(type_: str) -> dict:
    """The fixed example of ``type_`` in docs/contract-addendum.md (its JSON block)."""
    for block in re.findall(r"```json\n(.*?)```", ADDENDUM.read_text(encoding="utf-8"), re.S):
        obj = json.loads(block)
        if obj.get("type") == type_:
            return obj
    raise AssertionError(f"no example of {type_}")


def test_addendum_examples_are_what_both_sides_speak() -> None:
    state = CentralState.model_validate(addendum_example("central.state"))
    assert state.online and state.instance == "central-1"
    announcer = Announcer("central-1")
    announcer.next_epoch()
    written = json.loads(announcer.payload(True))
    assert set(written) == set(addendum_example("central.state")) and CentralState.model_validate(written).online
    busy = Busy.model_validate(addendum_example("busy"))
    assert busy.retry_after_s == 7
    ours = busy_answer(DEVICE, "m-1", 7)
    assert ours.topic == f"gov/v1/down/{DEVICE}/ack" and set(ours.payload) == set(addendum_example("busy"))
    assert Busy.model_validate(ours.payload).ref == "m-1"
    assert addendum_example("case.notify")["version"] == 3


def test_presence_counts_births_not_retained_copies() -> None:
    presence = Presence()
    state = lambda online, epoch, name="c1": CentralState(type="central.state", instance=name, online=online,  # noqa: E731
                                                          epoch=epoch)
    assert not presence.update(state(True, 5), retained=True)       # how things stand at subscribing
    assert not presence.update(state(True, 5), retained=True)       # the same again after a reconnect
    assert not presence.update(state(False, 4))                      # an old will after a newer birth
    assert not presence.update(state(False, 5)) and presence.central_away()
    assert presence.update(state(True, 6)) and not presence.central_away()
    assert presence.update(state(True, 1, "c2"))                     # a new instance, live
    presence.forget("c2")
    assert presence.instances() == {"c1": True}


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(base=20, cap=300, rng=random.Random(7))
    delays = [backoff.delay(n) for n in range(8)]
    assert all(20 * 2 ** n <= d < 1.5 * 20 * 2 ** n for n, d in enumerate(delays[:4]))
    assert all(300 <= d < 450 for d in delays[4:])
    spread = {round(Backoff(20, 300).delay(0), 3) for _ in range(50)}
    assert len(spread) > 40                                          # a fleet does not re-send in step
    assert 7 <= backoff.hold(7) < 10.5


def test_part_filters_fetch_only_what_is_lacking() -> None:
    assert part_filters(5, set(), 3) == ["gov/v1/catalog/5/part/+"]
    assert part_filters(5, {0, 2}, 4) == ["gov/v1/catalog/5/part/1", "gov/v1/catalog/5/part/3"]


def test_an_older_status_push_never_overwrites_a_newer_one(tmp_path: Path) -> None:
    engine = SyncEngine(SyncConfig(device_id=DEVICE, site_id="511902-HALL-01", mqtt_url="mqtt://127.0.0.1:1",
                                   data_dir=tmp_path, min_free_mb=1))
    seen: list[str] = []
    engine.on_notify = lambda note: seen.append(note["status"])
    try:
        example = addendum_example("case.notify")
        topic = f"gov/v1/down/{DEVICE}/notify"
        for version, status in ((3, "in_review"), (2, "accepted"), (3, "accepted"), (4, "approved")):
            engine.downlink.handle(topic, json.dumps({**example, "version": version, "status": status}).encode())
        engine.downlink.handle(topic, json.dumps({**example, "version": None, "status": "unversioned"}).encode())
        assert seen == ["in_review", "approved", "unversioned"] and engine.downlink.stale_pushes == 2
        cached = engine.downlink.cached_view(f"q:{example['query_code']}")
        assert cached is not None and cached[0]["status"] == "unversioned"
    finally:
        engine.store.close()


def _incoming(device: str, seq: int, depth: int = 0, kind: str = "case") -> Incoming:
    payload = json.dumps({"type": "case.submit", "msg_id": f"{device}-{seq}", "seq": seq}).encode()
    return Incoming(f"gov/v1/up/{device}/{kind}", payload, {}, None, None, None, 0.0, depth)


def test_busy_floor_keeps_a_devices_order() -> None:
    flow = FlowControl(busy_after_s=1.0, rate=100.0)
    assert flow.refuse(_incoming(DEVICE, 1, depth=50), "case", 0.0) is None        # 0.5 s of work ahead
    assert flow.refuse(_incoming(DEVICE, 2, depth=500), "case", 0.0) is not None   # 5 s: busy
    assert flow.refuse(_incoming(DEVICE, 3, depth=0), "case", 0.0) is not None     # after a refused one
    assert flow.refuse(_incoming("KSK-511902-0008", 1, depth=60), "event", 0.0) is not None   # events at half
    assert flow.refuse(_incoming(DEVICE, 2, depth=0), "case", 1.0) is None         # the refused one again
    assert flow.refuse(_incoming(DEVICE, 3, depth=0), "case", 1.0) is None


def test_sequencer_parks_what_it_does_not_own_and_orders_what_it_does(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "c.db")
    one, two = Sequencer("one", wait_s=3.0), Sequencer("two", wait_s=3.0)
    one.announced(0.0)
    with store.Transaction(conn):
        one.members(conn, 0.0)
        two.members(conn, 0.0)
        one.members(conn, 2.0)                              # both live now, for both
    devices = [f"KSK-511902-{n:04d}" for n in range(20)]
    mine = [d for d in devices if one.owns(d)]
    theirs = [d for d in devices if not one.owns(d)]
    assert mine and theirs and all(two.owns(d) for d in theirs)
    seqs = lambda work: [json.loads(i.payload)["seq"] for i in work]  # noqa: E731
    with store.Transaction(conn):
        assert one.plan(conn, [_incoming(theirs[0], 1)], now=2.0) == []          # parked for "two"
        assert seqs(one.plan(conn, [_incoming(mine[0], 2), _incoming(mine[0], 1)], now=2.0)) == [1, 2]
        store.record_message(conn, "m1", mine[0], "case", 2, "accepted", {}, "now")
        assert one.plan(conn, [_incoming(mine[0], 5)], now=2.0) == []            # early: 3 and 4 missing
        assert seqs(two.plan(conn, [], now=2.0)) == [1]                          # "two" takes its parked one
        assert one.plan(conn, [], now=4.0) == []
        assert seqs(one.plan(conn, [], now=5.5)) == [5] and one.taken_with_gap == 1   # a real gap
        assert store.pending_devices(conn) == []
    conn.close()



def test_a_gap_waits_while_the_device_keeps_sending_and_only_then_is_taken(tmp_path: Path) -> None:
    """A restarted central gets cases before it has announced itself, then the rest of a device's burst,
    then its re-sent cases: however long that takes, nothing is taken over a gap before the announcement
    or while cases of the device keep arriving (here or parked by another instance); a gap the device
    really has is taken ORDER_WAIT_S after its last case."""
    conn = store.connect(tmp_path / "c.db")
    one, two = Sequencer("one", wait_s=3.0), Sequencer("two", wait_s=3.0)
    with store.Transaction(conn):
        one.members(conn, 0.0)
        two.members(conn, 0.0)
        one.members(conn, 2.0)
    device = next(f"KSK-511902-{n:04d}" for n in range(20) if one.owns(f"KSK-511902-{n:04d}"))
    seqs = lambda work: [json.loads(i.payload)["seq"] for i in work]  # noqa: E731
    with store.Transaction(conn):
        assert one.plan(conn, [_incoming(device, 5)], now=2.0) == []              # not announced yet:
        assert one.plan(conn, [], now=9.0) == []                                   # the terminal cannot know
        one.announced(9.5)
        assert one.plan(conn, [], now=10.0) == []                                  # 1..4 still on their way
        for t, seq in ((12.0, 6), (14.0, 7), (16.0, 8)):                          # the burst goes on, slowly
            assert one.plan(conn, [_incoming(device, seq)], now=t) == []
        assert two.plan(conn, [_incoming(device, 9)], now=18.0) == []             # parked by the other one
        assert one.plan(conn, [], now=20.0) == []                                 # 10 s after the gap was seen
        assert seqs(one.plan(conn, [_incoming(device, s) for s in (3, 1, 2, 4)], now=20.5)) == list(range(1, 10))
        assert one.taken_with_gap == 0
        assert one.plan(conn, [_incoming(device, 12)], now=21.0) == []            # 10 and 11 never come
        assert one.plan(conn, [], now=23.5) == []
        assert seqs(one.plan(conn, [], now=24.5)) == [12] and one.taken_with_gap == 1
    conn.close()


def test_missing_answers_wait_and_are_withdrawn_when_stored(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "c.db")
    grace = MissingGrace(grace_s=2.0)
    from simulators.central.contract import AckResult
    from simulators.central.handlers import ack
    answer = ack(DEVICE, "p.1", AckResult.MISSING, {"blob_id": "b1", "missing_chunks": [0]})
    assert grace.hold([answer], now=0.0) == [] and grace.due(conn, now=1.0) == []
    conn.execute("INSERT INTO blobs VALUES ('b1', ?, 3, 'x', 'm', x'00', 'now')", (DEVICE,))
    assert grace.due(conn, now=2.0) == [] and grace.withdrawn == 1
    conn.close()


def test_one_claim_per_catalog_version(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "c.db")
    pub = catalog_pub.publication(Catalog({"version": 3, "items": []}), "2026-11-24T09:30:05+08:00")
    assert catalog_pub.claim(conn, pub, "a", None, now=100.0)
    assert not catalog_pub.claim(conn, pub, "b", None, now=101.0)                 # the other instance
    assert not catalog_pub.claim(conn, pub, "b", {"version": 3, "sha256": pub.sha256}, now=500.0)   # on the broker
    assert catalog_pub.claim(conn, pub, "b", None, now=500.0)                     # broker lost it: once more
    newer = catalog_pub.publication(Catalog({"version": 4, "items": []}), "2026-11-24T09:30:05+08:00")
    assert catalog_pub.claim(conn, newer, "a", {"version": 3}, now=600.0)
    assert catalog_pub.stale_parts(conn, 4) == ["gov/v1/catalog/3/part/0"] and catalog_pub.stale_parts(conn, 4) == []
    conn.close()


def test_emqx_rules_grant_what_the_mosquitto_acl_grants_and_nothing_to_others() -> None:
    sites = {DEVICE: "511902-HALL-01"}
    terms = acl_terms(sites)
    assert terms.rstrip().endswith("{deny, all}.")
    assert f'{{allow, {{user, "{DEVICE}"}}, publish, ["gov/v1/up/{DEVICE}/#"]}}.' in terms
    assert "KSK-511902-0008" not in terms
    mosq = acl_text(sites, per_device=True)
    for topic in (f"gov/v1/up/{DEVICE}/#", f"gov/v1/down/{DEVICE}/#", "gov/v1/catalog/#", "gov/v1/central/state/+",
                  "gov/v1/site/511902-HALL-01/#"):
        assert topic in mosq and topic in terms
    assert "pattern" not in mosq


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=300) | st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(
    st.sampled_from(["type", "v", "instance", "online", "epoch", "ref", "retry_after_s", "version"]),
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=70), max_size=8)),
    instance=st.text(max_size=80))
def test_hostile_central_state_and_busy_never_break_the_downlink(tmp_path: Path, payload: bytes, instance: str) -> None:
    engine = _ENGINES.setdefault("e", SyncEngine(SyncConfig(
        device_id=DEVICE, site_id="511902-HALL-01", mqtt_url="mqtt://127.0.0.1:1", data_dir=tmp_path, min_free_mb=1)))
    for topic in (f"gov/v1/central/state/{instance}", f"gov/v1/down/{DEVICE}/ack"):
        engine.downlink.handle(topic, payload)            # logged and dropped, or applied: never raises
    engine.drain._take_busy()
    assert all(isinstance(k, str) for k in engine.drain.presence.instances())
    assert sqlite3.complete_statement("SELECT 1;")


_ENGINES: dict[str, SyncEngine] = {}


@pytest.fixture(autouse=True, scope="module")
def _close_engines():
    yield
    for engine in _ENGINES.values():
        engine.store.close()
    for conn in _CONNS.values():
        conn.close()


json_docs = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                       max_size=4), max_leaves=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(st.binary(max_size=200) | json_docs.map(lambda d: json.dumps(d).encode()), max_size=6),
       device=st.sampled_from([DEVICE, "KSK-511902-0008", "x"]), kind=st.sampled_from(["case", "event", "blob"]))
def test_central_flow_and_order_never_raise_on_hostile_payloads(tmp_path: Path, payloads: list[bytes], device: str,
                                                                 kind: str) -> None:
    conn = _CONNS.setdefault("c", store.connect(tmp_path / "hostile.db"))
    items = [Incoming(f"gov/v1/up/{device}/{kind}", p, {}, None, None, None, 0.0, 10_000) for p in payloads]
    flow = FlowControl(busy_after_s=0.01, rate=100.0)
    for item in items:
        answer = flow.refuse(item, kind, 0.0)
        assert answer is None or Busy.model_validate(answer.payload).retry_after_s >= 1
    with store.Transaction(conn):
        work = Sequencer("solo").plan(conn, items, 0.0)
    parked = store.pending_devices(conn)
    assert len(work) <= len(items) and (not parked or parked == [device])
    with store.Transaction(conn):
        conn.execute("DELETE FROM pending_cases")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=json_docs)
def test_registry_files_are_read_or_refused_cleanly(tmp_path: Path, doc: object) -> None:
    from kiosk.trust.registry import Registry, RegistryError
    from simulators.central.cli import load_registry
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(doc))
    try:
        Registry.load(path)
    except (RegistryError, ValueError):
        pass
    try:
        load_registry(str(path))
    except ValueError:
        pass


_CONNS: dict[str, Any] = {}
