"""Central's flow control for a fleet (contract addendum, "Fleet"): "busy, retry after N s" when the
backlog would outlast the terminals' patience, requests before cases before events, and ``missing``
blob answers that wait a grace period so that a chunk still in another instance's transaction is not
asked for again. Each device's order across instances: sequencer.py."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from simulators.central.context import Incoming, Outgoing, real_now
from simulators.central.contract import UP_TOPIC_RE, down_topic

# Handling order inside one batch: a person waits for a request; cases go before events.
PRIORITY = {"request": 0, "state": 1, "blob": 2, "case": 3, "event": 4}
MIN_RATE = 50.0             # messages/s assumed at worst before anything was measured
MAX_RETRY_AFTER_S = 120
MISSING_GRACE_S = 2.0       # how long a "missing" blob answer waits before it is sent (if still true)


def kind_of(incoming: Incoming) -> str:
    match = UP_TOPIC_RE.match(incoming.topic)
    return match.group(2) if match else ""


def device_of(incoming: Incoming) -> str:
    match = UP_TOPIC_RE.match(incoming.topic)
    return match.group(1) if match else ""


def json_fields(incoming: Incoming) -> tuple[str | None, int | None]:
    """(msg_id, seq) of a JSON up message, or Nones when it has none usable."""
    try:
        obj = json.loads(incoming.payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, None
    if not isinstance(obj, dict):
        return None, None
    msg_id = obj.get("msg_id") if isinstance(obj.get("msg_id"), str) and 0 < len(obj["msg_id"]) <= 128 else None
    seq = obj.get("seq")
    return msg_id, seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def busy_answer(device: str, msg_id: str, retry_after_s: int) -> Outgoing:
    now = real_now()
    return Outgoing(down_topic(device, "ack"), {"type": "busy", "v": 1, "ref": msg_id,
                                                "retry_after_s": retry_after_s, "at": now, "server_time": now},
                    is_ack=True)


@dataclass
class FlowControl:
    """Decides, per message taken from the queue, whether central works on it or answers busy.

    A message is refused when, at its arrival, the queue ahead of it would have taken longer than
    ``busy_after_s`` to work off (events at half that: cases go first). Once a device got a busy
    answer for a case, its later cases get one too until that case comes again, so the device's
    order holds. ``busy_after_s`` ≤ 0 turns busy answers off."""

    busy_after_s: float = 10.0
    rate: float = 500.0                      # messages/s, measured while working (moving average)
    answered_busy: int = 0
    _floors: dict[str, tuple[int, float]] = field(default_factory=dict)   # device → (seq, until)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, handled: int, seconds: float) -> None:
        if handled >= 20 and seconds > 0:
            with self._lock:
                self.rate = max(MIN_RATE, 0.8 * self.rate + 0.2 * handled / seconds)

    def wait_s(self, depth: int) -> float:
        with self._lock:
            return depth / self.rate

    def retry_after(self, depth: int) -> int:
        return int(min(MAX_RETRY_AFTER_S, max(1.0, self.wait_s(depth) - self.busy_after_s / 2)))

    def refuse(self, incoming: Incoming, kind: str, now: float) -> Outgoing | None:
        """The busy answer for this message, or None when central works on it."""
        if self.busy_after_s <= 0 or kind not in ("case", "event"):
            return None
        device = device_of(incoming)
        msg_id, seq = json_fields(incoming)
        if msg_id is None:
            return None                          # the handler drops it with a log line
        limit = self.busy_after_s if kind == "case" else self.busy_after_s / 2
        floor = self._floors.get(device) if kind == "case" else None
        if floor is not None and floor[1] < now:
            self._floors.pop(device, None)
            floor = None
        late = floor is not None and seq is not None and seq > floor[0]
        if not late and self.wait_s(incoming.depth) <= limit:
            if floor is not None and seq is not None and seq <= floor[0]:
                self._floors.pop(device, None)   # the device is sending again from where it was refused
            return None
        retry = self.retry_after(incoming.depth)
        if kind == "case" and seq is not None and not late:
            self._floors[device] = (seq, now + 4 * retry + 3.0)
        self.answered_busy += 1
        return busy_answer(device, msg_id, retry)


@dataclass
class Deferred:
    due: float
    out: Outgoing


class MissingGrace:
    """``missing`` answers wait MISSING_GRACE_S; then they go only if the blob is still incomplete, with
    the list of chunks missing then (another consumer may have stored the rest meanwhile)."""

    def __init__(self, grace_s: float = MISSING_GRACE_S) -> None:
        self.grace_s = grace_s
        self.pending: list[Deferred] = []
        self.withdrawn = 0

    def hold(self, outgoing: list[Outgoing], now: float) -> list[Outgoing]:
        """The answers to send now; ``missing`` ones are kept back."""
        out = []
        for answer in outgoing:
            if answer.is_ack and answer.payload.get("result") == "missing" and self.grace_s > 0:
                self.pending.append(Deferred(now + self.grace_s, answer))
            else:
                out.append(answer)
        return out

    def due(self, conn: Any, now: float) -> list[Outgoing]:
        ready = [d for d in self.pending if d.due <= now]
        if not ready:
            return []
        self.pending = [d for d in self.pending if d.due > now]
        out = []
        for deferred in ready:
            detail = deferred.out.payload.get("detail") or {}
            blob_id = detail.get("blob_id")
            if conn.execute("SELECT 1 FROM blobs WHERE blob_id = ?", (blob_id,)).fetchone() is not None:
                self.withdrawn += 1
                continue
            rows = conn.execute("SELECT idx, count FROM blob_chunks WHERE blob_id = ?", (blob_id,)).fetchall()
            if not rows:
                self.withdrawn += 1               # started over (corrupt) or superseded meanwhile
                continue
            missing = sorted(set(range(int(rows[0][1]))) - {int(r[0]) for r in rows})
            if not missing:
                # Every chunk is in, but each consumer saw a gap in its own transaction: finish it here.
                out.append(self._finish(conn, deferred.out, str(blob_id)))
                continue
            deferred.out.payload["detail"] = {**detail, "missing_chunks": missing}
            out.append(deferred.out)
        return out

    @staticmethod
    def _finish(conn: Any, answer: Outgoing, blob_id: str) -> Outgoing:
        from simulators.central.handlers import finish_blob
        row = conn.execute("SELECT count, size, sha256, mime FROM blob_chunks WHERE blob_id = ? LIMIT 1",
                           (blob_id,)).fetchone()
        header = {"blob_id": blob_id, "count": int(row[0]), "size": int(row[1]), "sha256": row[2], "mime": row[3]}
        device = answer.topic.split("/")[3]
        return finish_blob(conn, device, str(answer.payload.get("ref")), header)
