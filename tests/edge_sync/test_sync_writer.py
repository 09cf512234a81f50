"""The drain's ack and upload-progress transactions, and the downlink's (status pushes, catalog parts and
installs), hold the store's write lock on a thread at the process's priority, not on the drain's or
paho's thread below it (issue 15: a submission waits for whoever holds that lock)."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import pytest

from edge_sync import SyncEngine
from edge_sync.results import Attachment
from edge_sync.supervise import BACKGROUND_NICE
from edge_sync.writer import Writer
from tests.edge_sync.conftest import DEVICE, sample_case, wait_until
from tests.edge_sync.publication import publication, publish_catalog


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class Written(NamedTuple):
    head: str       # the statement's start it was picked by
    thread: int     # native id of the thread that ran it
    nice: int       # that thread's nice value then


@contextmanager
def _where_written(engine: SyncEngine, *heads: str) -> Iterator[list[Written]]:
    """Where every statement starting with one of ``heads`` ran, inside the block."""
    seen: list[Written] = []

    def trace(sql: str) -> None:
        for head in heads:
            if sql.startswith(head):
                seen.append(Written(head, threading.get_native_id(), _nice_of_this_thread()))

    engine.store.conn.set_trace_callback(trace)
    try:
        yield seen
    finally:
        engine.store.conn.set_trace_callback(None)


def _connected_drain(engine: SyncEngine) -> threading.Thread:
    wait_until(lambda: engine.session.connected.is_set(), 10, "connected")
    drain = next(t for t in threading.enumerate() if t.name == "sup-sync-drain")
    assert drain.native_id is not None
    return drain


def _assert_at_process_priority(written: list[Written], below: int | None, what: str) -> None:
    """Every statement ran at the process's priority and not on the thread ``below`` (a native id)."""
    assert written, f"no {what} was written"
    assert all(w.nice == os.getpriority(os.PRIO_PROCESS, os.getpid()) for w in written), written
    assert below is not None and below not in {w.thread for w in written}


def test_acks_are_written_at_the_process_priority_while_the_drain_runs_below_it(broker, peer, make_engine):
    engine = make_engine(broker.url)
    drain = _connected_drain(engine)
    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert drain.native_id is not None
    assert os.getpriority(os.PRIO_PROCESS, drain.native_id) == min(19, base + BACKGROUND_NICE)
    with _where_written(engine, "DELETE FROM outbox") as deletes:   # each ack slice's DELETE
        for i in range(20):
            engine.submit_case(sample_case(i))
        wait_until(lambda: engine.store.scalar("SELECT COUNT(*) FROM outbox") == 0, 15, "the cases acked")
    _assert_at_process_priority(deletes, drain.native_id, "ack")


def test_upload_progress_is_written_at_the_process_priority(broker, peer, make_engine):
    """Which chunks the broker took is written as an upload goes (it resumes from there): that
    transaction holds the store's write lock too, so it runs on the writer, not on the drain's thread."""
    engine = make_engine(broker.url)
    drain = _connected_drain(engine)
    data = os.urandom(1_300_000)        # 5 chunks of at most 256 KiB
    with _where_written(engine, "UPDATE blobs SET pubacked") as writes:
        sub = engine.submit_case(sample_case(), [Attachment("M02", data, "image/jpeg", blob_id="b-progress")])
        outcome = engine.wait_case_ack(sub.case_id, 30)
    assert outcome is not None and outcome["result"] == "accepted"
    assert peer.stored_blobs["b-progress"] == data
    _assert_at_process_priority(writes, drain.native_id, "upload progress")


def test_downlink_writes_are_at_the_process_priority_not_on_the_network_thread(broker, peer, make_engine,
                                                                                cat_signer, catalog_file):
    """A status push and a catalog version arrive on paho's thread, below the process's priority; their
    transactions run on the writer."""
    engine = make_engine(broker.url, start=False)
    handled: list[tuple[int, int]] = []     # (thread, nice) that handled the push: paho's
    installed: list[int] = []
    engine.on_notify = lambda obj: handled.append((threading.get_native_id(), _nice_of_this_thread()))
    engine.on_catalog = lambda version, cat: installed.append(version)
    engine.start()
    _connected_drain(engine)
    sub = engine.submit_case(sample_case())
    assert engine.wait_case_ack(sub.case_id, 20)
    heads = ("INSERT INTO inbox", "INSERT OR REPLACE INTO catalog_parts", "INSERT OR REPLACE INTO catalog(")
    with _where_written(engine, *heads) as writes:
        peer.publish(f"gov/v1/down/{DEVICE}/notify", json.dumps(
            {"type": "notify", "v": 1, "case_id": sub.case_id, "query_code": sub.query_code,
             "status": "in_review"}).encode())
        wait_until(lambda: handled, 10, "the status push handled")
        manifest, parts = publication(cat_signer, json.loads(catalog_file.read_text("utf-8")), 41)
        publish_catalog(peer, manifest, parts)
        wait_until(lambda: installed, 10, "catalog v41 installed")
    network, network_nice = handled[0]
    assert network_nice == min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICE)
    assert {w.head for w in writes} == set(heads)
    _assert_at_process_priority(writes, network, "downlink write")


def test_writer_returns_the_result_and_raises_the_error_of_what_it_runs():
    writer = Writer("test-writer")
    writer.start()
    try:
        where: list[str] = []

        def answers() -> int:
            where.append(threading.current_thread().name)
            return 42
        assert writer.run(answers) == 42
        assert where == ["test-writer"]

        def fails() -> None:
            raise ValueError("disk I/O error")
        with pytest.raises(ValueError, match="disk I/O error"):
            writer.run(fails)
        # Nested: a job that hands on another runs it in place instead of waiting for itself.
        assert writer.run(lambda: writer.run(lambda: threading.current_thread().name)) == "test-writer"
    finally:
        writer.stop()


def test_writer_started_by_a_lowered_thread_keeps_its_priority():
    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    writer = Writer("test-writer")
    seen: list[int] = []

    def background() -> None:       # a sync thread, below the process: it hands its work over
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, base + BACKGROUND_NICE))
        seen.append(writer.run(_nice_of_this_thread))

    writer.start()
    try:
        thread = threading.Thread(target=background)
        thread.start()
        thread.join(10)
    finally:
        writer.stop()
    assert seen == [base]


def test_writer_not_running_leaves_the_work_to_the_caller():
    writer = Writer("test-writer")
    me = threading.current_thread().name
    assert writer.run(lambda: threading.current_thread().name) == me     # not started yet
    writer.start()
    writer.stop()
    assert writer.run(lambda: threading.current_thread().name) == me     # stopped


def test_a_job_the_writer_never_took_is_run_by_the_caller():
    writer = Writer("test-writer")
    writer.start()
    thread = writer._thread
    assert thread is not None
    writer._jobs.put(None)         # the writer ends before the next job: a stop racing a caller
    result = writer.run(lambda: threading.current_thread().name)
    thread.join(10)
    assert result == threading.current_thread().name
    assert not thread.is_alive()
    assert writer.run(lambda: threading.current_thread().name) == threading.current_thread().name
