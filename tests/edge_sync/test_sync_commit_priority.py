"""A submission never waits behind the drain's bookkeeping: an ack transaction is one slice of acks and
the next one waits while a submission is stored, the WAL is folded into the database outside the write
lock, and message ids are time-ordered so that acks dirty few pages (issue 15: commit latency while a
backlog drains). Counted in statements, pages and ids, not timed."""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge_sync.acks import ACK_SLICE, ACKS_PER_CHECKPOINT
from edge_sync.models import Ack, AckResult
from edge_sync.outbox import new_msg_id
from edge_sync.querycode import ALPHABET
from edge_sync.results import CaseExists
from edge_sync.supervise import BACKGROUND_NICE, lower_thread_priority
from tests.edge_sync.conftest import sample_case, wait_until

OFFLINE = "mqtt://127.0.0.1:1"


def _accepted(msg_id: str) -> Ack:
    return Ack(type="ack", ref=msg_id, result=AckResult.ACCEPTED, detail={"case_no": "X"})


def test_ack_batch_ends_one_slice_after_a_submission_starts_waiting(make_engine):
    engine = make_engine(OFFLINE, start=False)
    backlog = [engine.submit_case(sample_case(i)) for i in range(6 * ACK_SLICE)]
    statements: list[str] = []
    submitted: list[str] = []

    def submit() -> None:
        submitted.append(engine.submit_case(sample_case(10_000)).case_id)

    submitter = threading.Thread(target=submit)

    def trace(sql: str) -> None:
        statements.append(sql)      # as run, with its values bound
        if sql.startswith("DELETE FROM outbox") and not submitter.is_alive() and not submitted:
            # The drain is writing acks: a villager presses 提交 now.
            submitter.start()
            deadline = time.monotonic() + 10
            while not engine.store.urgent_waiting():
                assert time.monotonic() < deadline, "the submission never started waiting"
                time.sleep(0.001)

    engine.store.conn.set_trace_callback(trace)
    for sub in backlog:
        engine.drain.put_ack(_accepted(sub.msg_id))
    engine.drain._take_acks()      # the drain thread's step (the engine is not started: this thread is it)
    submitter.join(10)
    engine.store.conn.set_trace_callback(None)
    assert submitted, "the submission did not complete"
    first_insert = next(i for i, sql in enumerate(statements) if sql.startswith("INSERT INTO cases"))
    deletes_before = [sql for sql in statements[:first_insert] if sql.startswith("DELETE FROM outbox")]
    acked_before = [sub for sub in backlog if any(sub.msg_id in sql for sql in deletes_before)]
    assert len(acked_before) == ACK_SLICE
    # Every ack was applied all the same, in later transactions.
    assert engine.store.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'case'") == 1
    assert engine.store.scalar("SELECT COUNT(*) FROM cases WHERE state = 'acked'") == len(backlog)
    engine.store.close()


def test_a_slice_of_acks_is_written_in_three_statements(make_engine):
    """sqlite3 lets go of the interpreter lock at every statement step and must take it back; with paho's
    thread busy each time can cost milliseconds, with the write lock held. So the statements of an ack
    transaction must not grow with its acks."""
    engine = make_engine(OFFLINE, start=False)
    slices = 4
    backlog = [engine.submit_case(sample_case(i)) for i in range(slices * ACK_SLICE)]
    statements: list[str] = []
    engine.store.conn.set_trace_callback(statements.append)
    for sub in backlog:
        engine.drain.put_ack(Ack(type="ack", ref=sub.msg_id, result=AckResult.ACCEPTED,
                                 detail={"case_no": f"NO-{sub.case_id}", "promised_by": "2026-12-31",
                                         "status": "受理", "note": "已收到 \"材料\""}))
    engine.drain._take_acks()
    engine.store.conn.set_trace_callback(None)
    def count(head: str) -> int:
        return sum(sql.startswith(head) for sql in statements)

    assert count("DELETE FROM outbox") == slices
    assert count("UPDATE cases") == slices
    assert count("SELECT") == slices
    # One transaction per slice: a submission arriving meanwhile waits for one slice's COMMIT at most.
    assert count("BEGIN") == count("COMMIT") == slices
    between = [sql.split()[0] for sql in statements if sql.split()[0] in ("BEGIN", "COMMIT", "DELETE")]
    assert between == ["BEGIN", "DELETE", "COMMIT"] * slices
    # Each: BEGIN, the three statements, COMMIT and the two pragmas of an unsynced commit; meta's
    # last_ack_at once per batch.
    assert len(statements) <= 7 * slices + 1
    # Each case got its own ack's fields.
    for sub in backlog:
        row = engine.store.query("SELECT state, result, case_no, promised_by, status, detail, acked_at,"
                                 " purge_after FROM cases WHERE case_id = ?", (sub.case_id,))[0]
        assert tuple(row[:5]) == ("acked", "accepted", f"NO-{sub.case_id}", "2026-12-31", "受理")
        assert json.loads(row[5])["note"] == '已收到 "材料"'
        assert row[6] is not None and row[7] > row[6]
    assert engine.store.scalar("SELECT COUNT(*) FROM outbox") == 0
    engine.store.close()


def test_a_case_is_stored_in_six_statements_and_a_second_one_with_its_id_refused(make_engine):
    """Each statement of a submission lets go of the interpreter lock and must take it back while the
    drain and paho's thread are busy: the budget check, the seq, the case and its outbox row take one each."""
    engine = make_engine(OFFLINE, start=False)
    first = engine.submit_case(sample_case(0))
    statements: list[str] = []
    engine.store.conn.set_trace_callback(statements.append)
    second = engine.submit_case(sample_case(1))
    engine.store.conn.set_trace_callback(None)
    top_level = [sql.split()[0] for sql in statements if not sql.startswith("--")]  # "--": inside a pragma function
    assert top_level == ["SELECT", "BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"], statements
    assert second.seq == first.seq + 1 and engine.store.get("seq.case") == second.seq
    again = {**sample_case(2), "case_id": second.case_id}
    with pytest.raises(CaseExists):
        engine.submit_case(again)
    assert engine.store.get("seq.case") == second.seq, "a refused case used up a seq"
    assert engine.store.scalar("SELECT COUNT(*) FROM outbox") == 2
    assert engine.submit_case(sample_case(3)).seq == second.seq + 1
    budget = engine.config.max_store_mb * 1024 * 1024
    in_use = engine.store.size_bytes()
    pages = engine.store.scalar("PRAGMA page_count") - engine.store.scalar("PRAGMA freelist_count")
    assert 0 < in_use == pages * engine.store.scalar("PRAGMA page_size") < budget
    engine.store.close()


def test_background_work_waits_while_a_submission_is_stored(make_engine):
    engine = make_engine(OFFLINE, start=False)
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def submission() -> None:
        with engine.store.urgent():
            inside.set()
            release.wait(10)
            order.append("submission done")

    def background() -> None:
        engine.store.give_way()
        order.append("background step")

    person = threading.Thread(target=submission)
    person.start()
    assert inside.wait(10)
    drain = threading.Thread(target=background)
    drain.start()
    drain.join(0.3)
    assert drain.is_alive() and order == [], "the background step did not wait for the submission"
    release.set()
    person.join(10)
    drain.join(10)
    assert order == ["submission done", "background step"]
    # Bounded: paho's thread waits at most its limit; the urgent thread itself never waits.
    with engine.store.urgent():
        engine.store.give_way()
        capped = threading.Thread(target=engine.store.give_way, args=(0.05,))
        capped.start()
        capped.join(10)
        assert not capped.is_alive()
    engine.store.close()


def test_network_thread_holds_pubacks_and_messages_while_a_submission_is_stored(make_engine, monkeypatch):
    engine = make_engine(OFFLINE, start=False)
    monkeypatch.setattr("edge_sync.engine.MESSAGE_GIVE_WAY_S", 30.0)   # wait for the submission, not the cap
    handled: list[str] = []
    put_puback, handle = engine.drain.put_puback, engine.downlink.handle

    def noted_puback(mid: int) -> None:
        handled.append(f"puback {mid}")
        put_puback(mid)

    def noted_handle(topic: str, *rest: Any) -> None:
        handled.append(f"message {topic}")
        handle(topic, *rest)
    monkeypatch.setattr(engine.drain, "put_puback", noted_puback)
    monkeypatch.setattr(engine.downlink, "handle", noted_handle)
    message = mqtt.MQTTMessage(topic=b"gov/v1/down/elsewhere/x")
    message.payload = b"{}"

    def network_thread() -> None:     # what paho's thread does on a PUBACK, then on a message
        engine._on_published(7)
        engine._on_message(message)

    with engine.store.urgent():
        paho = threading.Thread(target=network_thread)
        paho.start()
        paho.join(0.3)
        assert paho.is_alive() and handled == [], "paho's thread went on while a submission was stored"
    paho.join(10)
    assert handled == ["puback 7", "message gov/v1/down/elsewhere/x"]
    engine.store.close()


def test_drain_sends_nothing_while_a_submission_is_being_stored(broker, peer, make_engine):
    engine = make_engine(broker.url)
    wait_until(lambda: engine.session.connected.is_set(), 10, "connected")
    engine.submit_case(sample_case(0))
    wait_until(lambda: engine.drain.stats["sent"] == 1, 10, "the first case sent")
    with engine.store.urgent():          # one long submission: several cases, then a pause
        for i in range(1, 4):
            engine.submit_case(sample_case(i))     # each wakes the drain
        time.sleep(0.5)
        sent_meanwhile = engine.drain.stats["sent"]
    assert sent_meanwhile == 1, "the drain sent while a submission was being stored"
    wait_until(lambda: engine.store.scalar("SELECT COUNT(*) FROM outbox") == 0, 10, "the cases delivered")


def test_sync_threads_run_below_the_process_priority(broker, peer, make_engine):
    engine = make_engine(broker.url)
    wait_until(lambda: engine.session.connected.is_set(), 10, "connected")
    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    by_name = {t.name: t for t in threading.enumerate()}
    drain = by_name["sup-sync-drain"]
    network = by_name[f"paho-mqtt-client-{engine.config.device_id}"]
    for thread in (drain, network):
        assert thread.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == min(19, base + BACKGROUND_NICE), thread.name
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
    seen: list[int] = []

    def restarted_worker() -> None:   # a worker restarted in its thread lowers it again: no further
        lower_thread_priority()
        lower_thread_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    worker = threading.Thread(target=restarted_worker)
    worker.start()
    worker.join(10)
    assert seen == [min(19, base + BACKGROUND_NICE)]


def test_drain_folds_the_wal_after_its_acks(make_engine, make_config):
    engine = make_engine(OFFLINE, start=False)
    backlog = [engine.submit_case(sample_case(i)) for i in range(ACKS_PER_CHECKPOINT + 10)]
    db = make_config(OFFLINE).db_path
    # Cases are written in one transaction each; fold them now, so that only the acks are left in the WAL.
    engine.store.checkpoint()
    file_before = db.read_bytes()
    for sub in backlog[:ACKS_PER_CHECKPOINT - 1]:
        engine.drain.put_ack(_accepted(sub.msg_id))
    engine.drain._take_acks()
    assert db.read_bytes() == file_before, "checkpointed before ACKS_PER_CHECKPOINT acks"
    for sub in backlog[ACKS_PER_CHECKPOINT - 1:]:
        engine.drain.put_ack(_accepted(sub.msg_id))
    engine.drain._take_acks()
    # Only a checkpoint writes the database file itself: the drain ran one (on its side connection).
    assert db.read_bytes() != file_before
    engine.store.close()


def test_checkpoint_does_not_wait_for_the_write_lock(make_engine):
    engine = make_engine(OFFLINE, start=False)
    for i in range(20):
        engine.submit_case(sample_case(i))
    release = threading.Event()
    in_tx = threading.Event()

    def writer() -> None:
        with engine.store.tx() as c:
            c.execute("INSERT INTO meta(key, value) VALUES ('held', '1')")
            in_tx.set()
            release.wait(10)

    holder = threading.Thread(target=writer)
    holder.start()
    try:
        assert in_tx.wait(10)
        done = threading.Event()

        def checkpoints() -> None:
            engine.store.checkpoint()
            done.set()
        checkpoint = threading.Thread(target=checkpoints)
        checkpoint.start()
        checkpoint.join(10)
        assert done.is_set(), "the checkpoint waited for the transaction holding the write lock"
    finally:
        release.set()
        holder.join(10)
    engine.store.close()


def _ulid_millis(ulid: str) -> int:
    value = 0
    for ch in ulid:
        value = value * 32 + ALPHABET.index(ch)
    return value >> 80


def test_message_ids_are_ulids_in_the_order_they_were_made():
    before = time.time_ns() // 1_000_000
    ids = []
    for _ in range(5):
        ids += [new_msg_id() for _ in range(200)]
        time.sleep(0.002)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and set(i) <= set(ALPHABET) and i[0] <= "7" for i in ids)
    # Within one millisecond the order is random; across milliseconds it is the order of making.
    stamps = [i[:10] for i in ids]
    assert stamps == sorted(stamps)
    after = time.time_ns() // 1_000_000
    assert before <= _ulid_millis(ids[0]) <= _ulid_millis(ids[-1]) <= after
