"""The outbox drain: sends cases and events in ``seq`` order through a window of messages awaiting
central's ack, uploads blobs before their case and resumes them; acks are applied in acks.py."""
from __future__ import annotations

import functools
import heapq
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag

from edge_sync.acks import AckHandling
from edge_sync.blobs import BlobJob, chunk_count
from edge_sync.clock import Clock
from edge_sync.config import SyncConfig
from edge_sync.crypto import DeviceKey
from edge_sync.fleet import Backoff, Busy, CentralState, Presence
from edge_sync.models import Ack
from edge_sync.outbox import SEGMENT, open_body
from edge_sync.session import Session
from edge_sync.store import BlobState, Kind, RowState, Store
from edge_sync.supervise import Supervisor, Worker, lower_thread_priority
from edge_sync.writer import Writer

log = logging.getLogger("edge_sync.drain")

MAX_BLOB_JOBS = 4
MAX_BUFFERED_BYTES = 16 * 1024 * 1024   # blob bytes handed to paho and not yet PUBACKed
ACK_BATCH = 200
ACK_GATHER_S = 0.003
BUSY_TICK_S = 0.1
IDLE_WAIT_S = 5.0  # nothing to do and nothing due: wake this seldom (a Pi at rest stays at rest)
STALL_S = 60.0     # one step never takes this long: a drain that has not beaten since is hung
RESEND_CAP_S = 300.0     # longest wait between two re-sends of one unacked message
# Cases go first, but a few places of the window stay for events, so that an alarm never waits behind
# a backlog of days.
EVENT_SHARE = 20         # 1/20 of the window
SEND_ORDER = (Kind.CASE, Kind.EVENT)


@dataclass
class InFlight:
    kind: Kind
    seq: int
    sent: float
    due: float = 0.0        # monotonic time of the next re-send unless acked before
    attempts: int = 0       # re-sends so far (the back-off grows with them)


class Drain(AckHandling):
    """Runs in its own thread; paho's thread only queues acks, PUBACKs and connection changes.

    ``on_case_done(case_id)`` is called after a case was acked or rejected (committed);
    ``alarm(reason, fields)`` raises a staff alarm (event + log + status)."""

    def __init__(self, cfg: SyncConfig, store: Store, key: DeviceKey, session: Session, clock: Clock,
                 on_case_done: Callable[[str], None], alarm: Callable[[str, dict[str, Any]], None],
                 presence: Presence | None = None, backoff: Backoff | None = None,
                 writer: Writer | None = None) -> None:
        self.cfg, self.store, self.key, self.session, self.clock = cfg, store, key, session, clock
        self.writer = writer or Writer()    # not started: the ack transactions run on the drain's thread
        self._on_case_done, self._alarm = on_case_done, alarm
        self.presence = presence or Presence()
        self.backoff = backoff or Backoff(cfg.ack_timeout_s, max(cfg.ack_timeout_s, RESEND_CAP_S))
        self._acks: queue.SimpleQueue[Ack] = queue.SimpleQueue()
        self._busy: queue.SimpleQueue[Busy] = queue.SimpleQueue()
        self._due: list[tuple[float, int, str]] = []     # heap of (due, tie-breaker, msg_id)
        self._ticket = 0
        self._hold_until = {Kind.CASE: 0.0, Kind.EVENT: 0.0}
        self.stats = {"sent": 0, "resent": 0, "busy": 0, "central_births": 0}
        self._pubacks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._reset = threading.Event()
        self._inflight: OrderedDict[str, InFlight] = OrderedDict()
        self._cursor = {Kind.CASE: 0, Kind.EVENT: 0}
        self._acks_since_checkpoint = 0
        self._jobs: dict[str, BlobJob] = {}
        self._mids: dict[int, tuple[str, int, int]] = {}
        self._buffered = 0
        self._alarmed: set[str] = set()     # rows and blobs already alarmed about (once each)
        self._worker: Worker | None = None
        self.last_ack_at: float | None = None
        self.starved = False    # stopped by the broker's Receive Maximum: PUBACKs wake the loop

    # -- called from other threads -----------------------------------------------------------------
    def start(self, supervisor: Supervisor) -> None:
        self._stop.clear()
        self._worker = supervisor.spawn("sync-drain", self._run, stall_after_s=STALL_S, backoff_max_s=10.0)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake.set()
        if self._worker is not None:
            self._worker.stopping.set()
            self._worker.join(timeout)

    def connection_up(self) -> None:
        """After every CONNACK: everything unacked goes again, in order, with the same msg_id."""
        self._reset.set()
        self.wake.set()

    def put_ack(self, ack: Ack | Busy) -> None:
        if isinstance(ack, Busy):
            self._busy.put(ack)
        else:
            self._acks.put(ack)
        self.wake.set()

    def central_state(self, instance: str, state: CentralState | None, retained: bool = False) -> None:
        """Central's retained online state: an instance that came online (a new epoch) may have missed
        whatever was sent while it was away, so everything unacked goes again now, not after a timer."""
        if state is None:
            self.presence.forget(instance)
            return
        if self.presence.update(state, retained):
            log.info("central instance %s online (epoch %d): re-sending what is unacked", state.instance[:64],
                     state.epoch)
            self.stats["central_births"] += 1
            self._hold_until = {Kind.CASE: 0.0, Kind.EVENT: 0.0}
            self._reset.set()
            self.wake.set()

    def put_puback(self, mid: int) -> None:
        self._pubacks.put(mid)
        if self.starved or mid in self._mids:
            self.wake.set()

    # -- the loop ----------------------------------------------------------------------------------
    def _run(self, worker: Worker) -> None:
        """The drain loop; an error (a store that cannot write, a row that cannot be read) goes to the
        supervisor, which restarts it with backoff. A restart sends every unacked message again. Runs below
        the process's priority, and stands aside at every step while a submission is being stored."""
        lower_thread_priority()
        self._reset.set()
        last_flush = time.monotonic()
        steps = 0
        while not self._stop.is_set():
            worker.beat(healthy=steps > 0)   # a whole step went through: a failing streak is over
            steps += 1
            self.wake.wait(self._wait_s())
            self.wake.clear()
            self.store.give_way()   # a submission goes first
            if 0 < self._acks.qsize() < ACK_BATCH and len(self._inflight) > ACK_BATCH:
                # Many acks are on their way: gather more of them per commit (each commit is an fsync).
                time.sleep(ACK_GATHER_S)
            if self._reset.is_set():
                self._reset.clear()
                self._restart_sending()
            self._take_pubacks()
            self._take_acks()
            self._take_busy()
            if self.session.connected.is_set() and not self.presence.central_away():
                self._resend_overdue()      # before new ones: a device's messages go in seq order
                self._fill_window()
                self._send_blobs()
            if time.monotonic() - last_flush > 1.0:
                last_flush = time.monotonic()
                self._flush_pubacked()
        self._take_pubacks()       # what the broker took before we stopped is not sent again
        self._flush_pubacked()

    def _wait_s(self) -> float:
        """How long the loop may sleep unless woken: every input (a submission, an ack, a PUBACK it
        waits for, a connection change, central's return) sets ``wake``, so only timers bound the sleep.
        A short tick stays while blob uploads run, the broker starves us, or central is away."""
        if self._jobs or self.starved or self.presence.central_away():
            return BUSY_TICK_S
        now = time.monotonic()
        timers = [t for t in self._hold_until.values() if t > now]
        if self._due:
            timers.append(self._due[0][0])
        return max(0.0, min([IDLE_WAIT_S + now, *timers]) - now)

    def _no_room(self) -> bool:
        self.starved = self.session.room() <= 0
        return self.starved

    def _restart_sending(self) -> None:
        self._flush_pubacked()
        self._inflight.clear()
        self._due.clear()
        self._cursor = {Kind.CASE: 0, Kind.EVENT: 0}
        self._mids.clear()
        self._buffered = 0
        for job in self._jobs.values():
            job.outstanding = 0
            job.plan_resume()

    # -- sending cases and events -------------------------------------------------------------------
    def _fill_window(self) -> None:
        max_payload = self.session.limits.max_payload()
        now = time.monotonic()
        for kind in SEND_ORDER:
            room = self.cfg.window - len(self._inflight)
            if kind is Kind.CASE:
                room -= max(1, self.cfg.window // EVENT_SHARE) if self.cfg.window > 1 else 0
            if room <= 0 or self._hold_until[kind] > now:
                continue
            rows = self.store.query("SELECT msg_id, seq, body, state FROM outbox WHERE kind = ? AND seq > ? "
                                    "ORDER BY seq LIMIT ?", (kind.value, self._cursor[kind], room))
            for msg_id, seq, body, state in rows:
                self.store.give_way()
                if state == RowState.BLOCKED.value:
                    break   # its blobs are not all stored yet; later rows wait to keep the order
                try:
                    payload = open_body(self.key, msg_id, body)
                except InvalidTag:
                    # Wrong device key or a damaged row: it stays stored for a technician; the rest goes on.
                    if msg_id not in self._alarmed:
                        self._alarmed.add(msg_id)
                        self._alarm("outbox_row_unreadable", {"msg_id": msg_id})
                    self._cursor[kind] = seq
                    continue
                if len(payload) > max_payload:
                    if msg_id not in self._alarmed:
                        self._alarmed.add(msg_id)
                        self._alarm("message_too_large", {"msg_id": msg_id, "bytes": len(payload),
                                                          "max_payload": max_payload})
                    break
                if self._no_room() or self.session.publish(kind.value, payload) is None:
                    return
                sent = time.monotonic()
                self._inflight[msg_id] = InFlight(kind, seq, sent)
                self._schedule(msg_id, sent + self.backoff.delay(0))
                self._cursor[kind] = seq
                self.stats["sent"] += 1

    def _schedule(self, msg_id: str, due: float) -> None:
        item = self._inflight.get(msg_id)
        if item is None:
            return
        item.due = due
        self._ticket += 1
        heapq.heappush(self._due, (due, self._ticket, msg_id))

    def _in_order(self, overdue: list[tuple[str, InFlight]], now: float) -> list[tuple[str, InFlight]]:
        """The overdue messages that may go now, cases before events, each kind by seq. A message waits
        while an earlier one of its kind is still unacked and not due: with jittered timers a later
        message could otherwise be re-sent first and reach central before an earlier one that was lost."""
        if not overdue:
            return overdue
        due_ids = {msg_id for msg_id, _ in overdue}
        floor: dict[Kind, InFlight] = {}
        for msg_id, item in self._inflight.items():
            if msg_id not in due_ids and (item.kind not in floor or item.seq < floor[item.kind].seq):
                floor[item.kind] = item
        ready = []
        for msg_id, item in overdue:
            blocker = floor.get(item.kind)
            if blocker is not None and item.seq > blocker.seq:
                self._schedule(msg_id, max(now, blocker.due))
            else:
                ready.append((msg_id, item))
        ready.sort(key=lambda pair: (SEND_ORDER.index(pair[1].kind), pair[1].seq))
        return ready

    def _take_busy(self) -> None:
        """Central said "busy, retry after N s" for these messages: each waits that long (jittered), and
        nothing new of that kind goes meanwhile (a busy case holds the events back too)."""
        now = time.monotonic()
        while True:
            try:
                busy = self._busy.get_nowait()
            except queue.Empty:
                return
            self.stats["busy"] += 1
            item = self._inflight.get(busy.ref)
            if item is None:
                continue            # acked meanwhile, or already going again after central's return
            until = now + self.backoff.hold(busy.retry_after_s)
            for kind in ((Kind.CASE, Kind.EVENT) if item.kind is Kind.CASE else (item.kind,)):
                self._hold_until[kind] = max(self._hold_until[kind], until)
            self._schedule(busy.ref, max(until, self._hold_until[item.kind]))

    def _resend_overdue(self) -> None:
        now = time.monotonic()
        overdue: list[tuple[str, InFlight]] = []
        while self._due and self._due[0][0] <= now:
            due, _, msg_id = heapq.heappop(self._due)
            item = self._inflight.get(msg_id)
            if item is None or item.due != due:
                continue            # acked, or re-scheduled since (a later heap entry stands)
            if self._hold_until[item.kind] > now:
                self._schedule(msg_id, self._hold_until[item.kind])
                continue
            overdue.append((msg_id, item))
        overdue = self._in_order(overdue, now)
        for n, (msg_id, item) in enumerate(overdue):
            row = self.store.query("SELECT body FROM outbox WHERE msg_id = ?", (msg_id,))
            if not row:
                self._inflight.pop(msg_id, None)
                continue
            payload = open_body(self.key, msg_id, row[0][0])
            if self._no_room() or self.session.publish(item.kind.value, payload) is None:
                for later_id, later in overdue[n:]:     # no room now: try again on the next turn
                    self._schedule(later_id, later.due)
                return
            item.attempts += 1
            item.sent = time.monotonic()
            self._schedule(msg_id, item.sent + self.backoff.delay(item.attempts))
            self.stats["resent"] += 1
        for job in self._jobs.values():
            if not job.todo and job.outstanding == 0 and now - job.last_activity > self.cfg.ack_timeout_s:
                job.todo.append(job.count - 1)      # central silent: ask again with the last chunk
                job.last_activity = now

    # -- sending blobs ------------------------------------------------------------------------------
    def _send_blobs(self) -> None:
        if len(self._jobs) < MAX_BLOB_JOBS:
            self._activate_blobs(MAX_BLOB_JOBS - len(self._jobs))
        for job in list(self._jobs.values()):
            while job.todo and self._buffered < MAX_BUFFERED_BYTES and not self._no_room():
                index = job.todo[0]
                data = job.chunk(index)
                mid = self.session.publish(Kind.BLOB.value, data, properties=job.properties(index))
                if mid is None:
                    return
                job.todo.popleft()
                job.outstanding += 1
                job.last_activity = time.monotonic()
                self._mids[mid] = (job.blob_id, index, len(data))
                self._buffered += len(data)

    def _activate_blobs(self, n: int) -> None:
        active = list(self._jobs)
        marks = ",".join("?" * len(active))
        rows = self.store.query(
            "SELECT blob_id, case_id, msg_prefix, size, sha256, mime, chunk_size, pubacked FROM blobs "
            f"WHERE state = ? {'AND blob_id NOT IN (' + marks + ')' if active else ''} ORDER BY ord LIMIT ?",
            (BlobState.PENDING.value, *active, n + len(self._alarmed)))
        max_payload = self.session.limits.max_payload()
        for blob_id, case_id, prefix, size, sha, mime, chunk_size, pubacked in rows:
            if len(self._jobs) >= MAX_BLOB_JOBS:
                break
            if chunk_size is None:
                chunk_size = min(self.cfg.chunk_size, max_payload)
                with self.store.tx() as c:
                    c.execute("UPDATE blobs SET chunk_size = ?, count = ? WHERE blob_id = ?",
                              (chunk_size, chunk_count(size, chunk_size), blob_id))
            elif chunk_size > max_payload:
                # Chunks were cut for a larger limit; central holds part of them by that numbering.
                if blob_id not in self._alarmed:
                    self._alarmed.add(blob_id)
                    self._alarm("blob_chunk_too_large", {"blob_id": blob_id, "chunk": chunk_size,
                                                         "max_payload": max_payload})
                continue
            job = BlobJob(blob_id, case_id, prefix, size, sha, mime, chunk_size, chunk_count(size, chunk_size),
                          read_segment=functools.partial(self._read_segment, blob_id), segment=SEGMENT,
                          pubacked=set(json.loads(pubacked)))
            job.plan_resume()
            self._jobs[blob_id] = job

    def _read_segment(self, blob_id: str, n: int) -> bytes:
        rows = self.store.query("SELECT data FROM blob_data WHERE blob_id = ? AND seg = ?", (blob_id, n))
        if not rows:
            raise LookupError(f"blob {blob_id} lacks stored segment {n}")
        return self.key.open(rows[0][0], f"{blob_id}:{n}".encode())

    def _take_pubacks(self) -> None:
        while True:
            try:
                mid = self._pubacks.get_nowait()
            except queue.Empty:
                return
            hit = self._mids.pop(mid, None)
            if hit is None:
                continue
            blob_id, index, nbytes = hit
            self._buffered -= nbytes
            job = self._jobs.get(blob_id)
            if job is not None:
                job.outstanding -= 1
                job.pubacked.add(index)
                job.dirty = True
                job.last_activity = time.monotonic()

    def _flush_pubacked(self) -> None:
        """Writes which chunks the broker took (an upload resumes from there after a restart). On the
        writer thread, like the acks: the store's write lock is not held below the process's priority."""
        dirty = [j for j in self._jobs.values() if j.dirty]
        if dirty:
            self.writer.run(functools.partial(self._write_pubacked, dirty))

    def _write_pubacked(self, dirty: list[BlobJob]) -> None:
        with self.store.tx() as c:
            for job in dirty:
                c.execute("UPDATE blobs SET pubacked = ? WHERE blob_id = ?", (job.pubacked_json(), job.blob_id))
                job.dirty = False
