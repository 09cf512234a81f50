"""Applying central's acks to the store (mixed into the Drain): accepted and duplicate in bulk, and
every other result of the contract — rejected, incomplete, stored, missing, corrupt — one by one."""
from __future__ import annotations

import functools
import json
import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from edge_sync.blobs import BlobJob, split_chunk_msg_id
from edge_sync.clock import Clock
from edge_sync.config import SyncConfig
from edge_sync.models import Ack, AckResult
from edge_sync.store import BlobState, CaseState, Kind, RowState, Store
from edge_sync.writer import Writer

log = logging.getLogger("edge_sync.drain")

DONE = (AckResult.ACCEPTED, AckResult.DUPLICATE)
ACK_SLICE = 50   # acks per transaction: what a submission that arrives meanwhile may wait for
# Acks applied between two checkpoints the drain runs itself (Store.checkpoint: passive, on a side
# connection, outside the write lock), so that most of the copying and fsync of the drain's pages happens
# where no submission waits for it (issue 15). It does not keep the WAL under SQLite's autocheckpoint size
# while acks keep coming: a passive checkpoint never finds the WAL idle, so the WAL does not restart from
# its beginning (measured: ~1 900 pages), and some COMMITs still fold their own few new pages.
ACKS_PER_CHECKPOINT = 250
# A slice of accepted/duplicate acks in three statements, each a single step (see _apply_acks).
_LOOKUP = ("SELECT json_group_array(json_array(msg_id, kind, case_id)) FROM outbox"
           " WHERE msg_id IN (SELECT value FROM json_each(?))")
_DELETE_DONE = "DELETE FROM outbox WHERE msg_id IN (SELECT value FROM json_each(?))"
_UPDATE_DONE = ("UPDATE cases SET state = ?1, result = json_extract(v.value, '$[1]'),"
                " case_no = json_extract(v.value, '$[2]'), promised_by = json_extract(v.value, '$[3]'),"
                " status = json_extract(v.value, '$[4]'), detail = json_extract(v.value, '$[5]'), acked_at = ?2,"
                " purge_after = ?3 FROM json_each(?4) AS v WHERE cases.case_id = json_extract(v.value, '$[0]')")


class AckHandling:
    """The Drain's ack side; the attributes below are the Drain's (set in its __init__)."""

    cfg: SyncConfig
    store: Store
    clock: Clock
    last_ack_at: float | None
    _acks: queue.SimpleQueue[Ack]
    _acks_since_checkpoint: int
    _inflight: dict[str, Any]
    _jobs: dict[str, BlobJob]
    _cursor: dict[Kind, int]
    _alarm: Callable[[str, dict[str, Any]], None]
    _on_case_done: Callable[[str], None]
    _flush_pubacked: Callable[[], None]
    writer: Writer

    def _take_acks(self) -> None:
        batch: list[Ack] = []
        while len(batch) < 1000:      # bounds one step of the drain (its beat)
            try:
                batch.append(self._acks.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        done_cases: list[str] = []
        self._flush_pubacked()
        taken_all = len(batch)
        while batch:
            # On the writer thread, at the process's priority: the store's write lock is not held by a
            # thread below it, which a submission would wait for (see edge_sync/writer.py).
            batch = batch[self.writer.run(functools.partial(self._apply_acks, batch, done_cases)):]
        for case_id in done_cases:
            self._on_case_done(case_id)
        self._acks_since_checkpoint += taken_all
        if self._acks_since_checkpoint >= ACKS_PER_CHECKPOINT:
            self._acks_since_checkpoint = 0
            self.store.checkpoint()

    def _apply_acks(self, batch: list[Ack], done_cases: list[str]) -> int:
        """Applies up to ACK_SLICE acks from the front of ``batch`` in one transaction; returns how many.
        The common case (accepted/duplicate) takes three statements for the whole slice. One slice per
        transaction bounds what a submission that arrives meanwhile waits for: the slice's statements and
        a COMMIT that writes the pages of ACK_SLICE acks, not of a whole batch (issue 15). The next
        transaction starts only once the submission is done (Store.tx gives way)."""
        now = time.time()
        purge = now + self.cfg.retention_days * 86400
        part = batch[:ACK_SLICE]
        seen: set[str] = set()      # a second ack for one message in this slice finds nothing
        # Not synced: a power cut may undo these acks, and the cases then go again and come back as
        # duplicates; every fsync saved is one a waiting submission does not queue behind.
        with self.store.tx(synced=False) as c:
            rows = self._lookup(c, [a.ref for a in part])
            deletes: list[str] = []
            updates: list[tuple[Any, ...]] = []
            for ack in part:
                self._inflight.pop(ack.ref, None)
                row = None if ack.ref in seen else rows.get(ack.ref)
                seen.add(ack.ref)
                case_id = row[1] if row is not None and row[0] == Kind.CASE.value else None
                if case_id is not None and ack.result in DONE:
                    detail = ack.detail if isinstance(ack.detail, dict) else {}
                    deletes.append(ack.ref)
                    updates.append((case_id, ack.result.value, _text(detail.get("case_no")),
                                    _text(detail.get("promised_by")), _text(detail.get("status")),
                                    json.dumps(detail, ensure_ascii=False)))
                    done_cases.append(case_id)
                elif case_id is not None:
                    self._case_ack(c, ack, case_id, done_cases)
                elif row is not None:
                    self._event_ack(c, ack)
                else:
                    self._blob_ack(c, ack, done_cases)
            if deletes:
                # One statement each, not one per row: sqlite3 lets go of the interpreter lock at every
                # statement step, and while paho's thread is busy each step can wait milliseconds to get
                # it back, with the store lock held and a submission waiting behind it (issue 15).
                c.execute(_DELETE_DONE, (json.dumps(deletes),))
                c.execute(_UPDATE_DONE, (CaseState.ACKED.value, now, purge,
                                         json.dumps(updates, ensure_ascii=False)))
            if len(part) == len(batch):     # the batch's last transaction: one meta write per batch
                self.last_ack_at = now
                self.store.put("last_ack_at", now)
        for ack in part:
            self.clock.observe(ack.server_time)
        return len(part)

    @staticmethod
    def _lookup(c: Any, refs: list[str]) -> dict[str, tuple[str, str | None]]:
        """msg_id → (kind, case_id) of the outbox rows among ``refs``, read in one statement step."""
        if not refs:
            return {}
        found = c.execute(_LOOKUP, (json.dumps(refs),)).fetchone()[0]
        return {msg_id: (kind, case_id) for msg_id, kind, case_id in json.loads(found)}

    def _case_ack(self, c: Any, ack: Ack, case_id: str, done: list[str]) -> None:
        """Results other than accepted/duplicate for a case message."""
        detail = ack.detail if isinstance(ack.detail, dict) else {}
        if ack.result is AckResult.REJECTED:
            self._reject_case(c, case_id, ack.ref, detail)

            done.append(case_id)
        elif ack.result is AckResult.INCOMPLETE:
            missing = detail.get("missing_blobs")
            known = {r[0] for r in c.execute("SELECT blob_id FROM blobs WHERE case_id = ?", (case_id,))}
            wanted = [b for b in missing if b in known] if isinstance(missing, list) else []
            if not wanted:
                self._reject_case(c, case_id, ack.ref, {"reason": "incomplete: central lacks blobs this "
                                                        "device never had", "missing_blobs": missing})
                done.append(case_id)
                return
            for blob_id in wanted:
                c.execute("UPDATE blobs SET state = ?, pubacked = '[]' WHERE blob_id = ?",
                          (BlobState.PENDING.value, blob_id))
                job = self._jobs.get(blob_id)
                if job is not None:
                    job.plan_all()
            c.execute("UPDATE outbox SET state = ? WHERE msg_id = ?", (RowState.BLOCKED.value, ack.ref))
            seq = c.execute("SELECT seq FROM cases WHERE case_id = ?", (case_id,)).fetchone()[0]
            # Send the case again after its blobs: the cursor goes back so it is picked up once ready.
            self._cursor[Kind.CASE] = min(self._cursor[Kind.CASE], seq - 1)
        else:
            log.warning("ack %s for a case message ignored", ack.result.value)

    def _reject_case(self, c: Any, case_id: str, msg_id: str, detail: dict[str, Any]) -> None:
        c.execute("DELETE FROM outbox WHERE msg_id = ?", (msg_id,))
        c.execute("UPDATE cases SET state = ?, result = ?, detail = ?, acked_at = ?, purge_after = ? WHERE case_id = ?",
                  (CaseState.REJECTED.value, AckResult.REJECTED.value, json.dumps(detail, ensure_ascii=False),
                   time.time(), time.time() + self.cfg.retention_days * 86400, case_id))
        c.execute("UPDATE blobs SET state = ? WHERE case_id = ? AND state = ?",
                  (BlobState.REJECTED.value, case_id, BlobState.PENDING.value))
        for blob_id in [b for b, j in self._jobs.items() if j.case_id == case_id]:
            del self._jobs[blob_id]
        self._alarm("case_rejected", {"case_id": case_id, "reason": _text(detail.get("reason")) or "unknown"})

    def _event_ack(self, c: Any, ack: Ack) -> None:
        if ack.result in (AckResult.MISSING, AckResult.INCOMPLETE, AckResult.CORRUPT, AckResult.STORED):
            log.warning("ack %s for an event ignored", ack.result.value)
            return
        if ack.result is AckResult.REJECTED:
            # No alarm event here: a rejected alarm event would loop.
            log.error("central rejected event %s: %s", ack.ref, _text(ack.detail.get("reason")))
        c.execute("DELETE FROM outbox WHERE msg_id = ?", (ack.ref,))

    def _blob_ack(self, c: Any, ack: Ack, done: list[str]) -> None:
        split = split_chunk_msg_id(ack.ref)
        row = None
        if split is not None:
            row = c.execute("SELECT blob_id, case_id, state FROM blobs WHERE msg_prefix = ?", (split[0],)).fetchone()
        if row is None and isinstance(ack.detail.get("blob_id"), str):
            row = c.execute("SELECT blob_id, case_id, state FROM blobs WHERE blob_id = ?",
                            (ack.detail["blob_id"],)).fetchone()
        if row is None:
            return   # an ack we already applied (duplicate ack) or for a purged row
        blob_id, case_id, state = row
        job = self._jobs.get(blob_id)
        if state != BlobState.PENDING.value:
            return
        if ack.result in (AckResult.STORED, *DONE):
            c.execute("UPDATE blobs SET state = ? WHERE blob_id = ?", (BlobState.STORED.value, blob_id))
            self._jobs.pop(blob_id, None)
            left = c.execute("SELECT COUNT(*) FROM blobs WHERE case_id = ? AND state != ?",
                             (case_id, BlobState.STORED.value)).fetchone()[0]
            if case_id and left == 0:
                c.execute("UPDATE outbox SET state = ? WHERE case_id = ? AND kind = ?",
                          (RowState.READY.value, case_id, Kind.CASE.value))
        elif ack.result in (AckResult.MISSING, AckResult.CORRUPT):
            if job is None:
                c.execute("UPDATE blobs SET pubacked = '[]' WHERE blob_id = ?", (blob_id,))
            elif ack.result is AckResult.CORRUPT or not job.plan_missing(ack.detail.get("missing_chunks")):
                job.plan_all()
        elif ack.result is AckResult.REJECTED:
            c.execute("UPDATE blobs SET state = ? WHERE blob_id = ?", (BlobState.REJECTED.value, blob_id))
            self._jobs.pop(blob_id, None)
            msg = c.execute("SELECT msg_id FROM outbox WHERE case_id = ? AND kind = ?",
                            (case_id, Kind.CASE.value)).fetchone()
            if msg is not None:
                self._reject_case(c, case_id, msg[0], {"reason": f"attachment rejected: "
                                                       f"{_text(ack.detail.get('reason')) or 'unknown'}"})
                done.append(case_id)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:200]
