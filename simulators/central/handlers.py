"""Handling of up messages (cases, blob chunks, events, birth/will) inside one database transaction:
validation, deduplication by msg_id and case_id, storage, and the acks of §3 to send after commit."""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from simulators.central import addendum, store
from simulators.central.context import Context, Incoming, Outgoing, real_now
from simulators.central.contract import (
    EVENT_TYPES,
    AckResult,
    CaseStatus,
    check_case,
    check_chunk,
    check_envelope,
    check_event,
    check_state,
    down_topic,
)
from simulators.central.progress import case_pace, plan
from simulators.central.workdays import CHINA_TZ, iso

log = logging.getLogger("central.up")


def ack(device: str, ref: str, result: AckResult, detail: dict | None = None) -> Outgoing:
    now = real_now()
    return Outgoing(down_topic(device, "ack"), {"type": "ack", "v": 1, "ref": ref, "result": result.value,
                                                "at": now, "server_time": now, "detail": detail or {}},
                    is_ack=True)


def parse_json(incoming: Incoming) -> Any:
    """The decoded JSON payload, or None when it is not UTF-8 JSON."""
    try:
        return json.loads(incoming.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def usable_msg_id(payload: Any) -> str | None:
    msg_id = payload.get("msg_id") if isinstance(payload, dict) else None
    return msg_id if isinstance(msg_id, str) and 0 < len(msg_id) <= 128 else None


def repeat_outcome(device: str, msg_id: str, seen: sqlite3.Row) -> Outgoing:
    """The answer to a msg_id central already decided: a rejection stays a rejection (it is permanent);
    anything central holds is a duplicate whose detail repeats the first outcome."""
    detail = json.loads(seen["detail"])
    if seen["result"] == AckResult.REJECTED.value:
        return ack(device, msg_id, AckResult.REJECTED, detail)
    return ack(device, msg_id, AckResult.DUPLICATE, detail)


def reject(conn: sqlite3.Connection, device: str, kind: str, payload: dict, msg_id: str, reason: str) -> Outgoing:
    detail = {"reason": reason}
    store.record_message(conn, msg_id, device, kind, payload.get("seq"), AckResult.REJECTED.value, detail,
                         real_now())
    log.warning("rejected %s %s from %s: %s", kind, msg_id, device, reason)
    return ack(device, msg_id, AckResult.REJECTED, detail)


def screen(conn: sqlite3.Connection, incoming: Incoming, device: str, kind: str, known_types: tuple[str, ...],
           check: Callable[[dict], str | None], operator_reason: Callable[[], str | None] = lambda: None
           ) -> tuple[dict | None, list[Outgoing]]:
    """(payload, []) for a new, valid message; else (None, answers): unparseable, without a usable
    msg_id or of an unknown type → dropped with a log line and no answer; a msg_id already decided →
    its first outcome again; invalid → rejected (and recorded)."""
    payload = parse_json(incoming)
    if not isinstance(payload, dict):
        log.warning("dropped %s from %s: not a JSON object", kind, device)
        return None, []
    if payload.get("type") is not None and payload.get("type") not in known_types:
        log.warning("dropped %s from %s: unknown type %.40r", kind, device, payload.get("type"))
        return None, []
    msg_id = usable_msg_id(payload)
    if msg_id is None:
        log.warning("dropped %s from %s: no usable msg_id", kind, device)
        return None, []
    seen = store.seen_message(conn, msg_id)
    if seen is not None:
        return None, [repeat_outcome(device, msg_id, seen)]
    reason = ("type missing" if payload.get("type") is None else None) or check_envelope(payload, device) \
        or check(payload) or operator_reason()
    if reason is not None:
        return None, [reject(conn, device, kind, payload, msg_id, reason)]
    return payload, []


def handle_case(ctx: Context, conn: sqlite3.Connection, device: str, incoming: Incoming) -> list[Outgoing]:
    from simulators.central import service_up  # it builds on this module

    payload, answers = screen(conn, incoming, device, "case", ("case.submit", *addendum.CASE_TYPES),
                              lambda p: addendum.check_correction(p, device) if p.get("type") == "case.correction"
                              else check_case(p, device), ctx.controls.take_reject)
    if payload is None:
        return answers
    if payload.get("type") == "case.correction":
        return service_up.handle_correction(ctx, conn, device, payload)
    msg_id = payload["msg_id"]
    if payload.get("test") is True:
        detail = {"test": True, "status": "received"}
        store.record_message(conn, msg_id, device, "case", payload["seq"], AckResult.ACCEPTED.value, detail,
                             real_now())
        return [ack(device, msg_id, AckResult.ACCEPTED, detail)]  # a self-test: acked, then forgotten
    first = conn.execute("SELECT m.detail FROM cases c JOIN messages m ON m.msg_id = c.msg_id "
                         "WHERE c.case_id = ?", (payload["case_id"],)).fetchone()
    if first is not None:
        return [duplicate(conn, device, payload, json.loads(first["detail"]))]
    missing = missing_blobs(conn, payload)
    if missing:
        # not recorded: once the blobs are in, the same msg_id must be judged again
        return [ack(device, msg_id, AckResult.INCOMPLETE, {"missing_blobs": missing})]
    detail = accept_case(ctx, conn, device, msg_id, payload)
    return [ack(device, msg_id, AckResult.ACCEPTED, detail)]


def duplicate(conn: sqlite3.Connection, device: str, payload: dict, detail: dict) -> Outgoing:
    """A new msg_id for something central already holds (same case_id / correction_id): recorded, and
    answered ``duplicate`` with the first outcome."""
    store.record_message(conn, payload["msg_id"], device, "case", payload["seq"], AckResult.DUPLICATE.value, detail,
                         real_now())
    return ack(device, payload["msg_id"], AckResult.DUPLICATE, detail)


def missing_blobs(conn: sqlite3.Connection, payload: dict) -> list[str]:
    missing = []
    for material in payload.get("materials", []):
        blob = material.get("blob")
        if not isinstance(blob, dict):
            continue
        row = conn.execute("SELECT sha256 FROM blobs WHERE blob_id = ?", (blob["id"],)).fetchone()
        if row is None or row["sha256"] != blob["sha256"].lower():
            missing.append(blob["id"])
    return missing


def accept_case(ctx: Context, conn: sqlite3.Connection, device: str, msg_id: str, payload: dict) -> dict:
    """Stores a new case with its planned timeline; returns the accepted ack's detail."""
    received = ctx.clock.now_dt()
    rule = ctx.catalog.rule(payload["item"]["code"])
    number = store.next_counter(conn, "case_counter")
    case_no = f"{ctx.catalog.region}{received:%Y%m%d}{number:06d}"
    promised_by = ctx.catalog.calendar.add_workdays(received.date(), rule.promised_days).isoformat()
    # Accepted (受理) at once when nothing is left to check at a window; else received for 预审 (addendum).
    at_once = not rule.window_check and all(m.get("source") in ("shared", "scan") for m in payload["materials"])
    status = CaseStatus.ACCEPTED.value if at_once else CaseStatus.RECEIVED.value
    timeline = plan(rule, received, case_pace(payload["case_id"], ctx.pace), ctx.catalog.calendar, at_once)
    applicant = payload["applicant"]
    key = applicant_key(applicant)
    # central keeps what it needs to answer; the ID number only as a hash
    envelope = {**payload, "applicant": {k: v for k, v in applicant.items() if k != "id_no"}}
    raw_agent = payload.get("agent")
    agent = raw_agent if isinstance(raw_agent, dict) else {}
    conn.execute(
        "INSERT INTO cases (case_id, msg_id, device, seq, case_no, query_code, site, item_code, situation, "
        "channel, applicant_key, applicant_name, applicant_phone, agent_id, envelope, received_at, "
        "promised_by, timeline, notified, next_at, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)",
        (payload["case_id"], msg_id, device, payload["seq"], case_no, payload["query_code"], payload["site"],
         rule.code, payload["item"]["situation"], payload["channel"], key, applicant.get("name"),
         applicant.get("phone") or "", agent.get("agent_id"), json.dumps(envelope, ensure_ascii=False),
         iso(received), promised_by, json.dumps(timeline),
         timeline["events"][0][0] if timeline["events"] else None, status))
    detail = {"case_no": case_no, "promised_by": promised_by, "status": status}
    store.record_message(conn, msg_id, device, "case", payload["seq"], AckResult.ACCEPTED.value, detail,
                         real_now())
    return detail


def applicant_key(applicant: dict) -> str:
    """How central finds an applicant's cases without keeping the ID number: sha256 of id_type:id_no."""
    return hashlib.sha256(f"{applicant['id_type']}:{applicant['id_no'].upper()}".encode()).hexdigest()


def handle_event(ctx: Context, conn: sqlite3.Connection, device: str, incoming: Incoming) -> list[Outgoing]:
    from simulators.central import service_up  # it builds on this module

    payload, answers = screen(conn, incoming, device, "event", (*EVENT_TYPES, *addendum.EVENT_TYPES), check_any_event)
    if payload is None:
        return answers
    msg_id = payload["msg_id"]
    refusal = service_up.apply_event(conn, device, payload)
    if refusal is not None:
        return [reject(conn, device, "event", payload, msg_id, refusal)]
    now = real_now()
    conn.execute("INSERT INTO events (msg_id, device, seq, type, payload, received_at) VALUES (?,?,?,?,?,?)",
                 (msg_id, device, payload["seq"], payload["type"], json.dumps(payload, ensure_ascii=False), now))
    store.record_message(conn, msg_id, device, "event", payload["seq"], AckResult.ACCEPTED.value, {}, now)
    return [ack(device, msg_id, AckResult.ACCEPTED, {})]


def check_any_event(payload: dict) -> str | None:
    kind = payload.get("type")
    if kind == "service.evaluation":
        return addendum.check_evaluation(payload)
    if kind == "case.bundle":
        return addendum.check_bundle(payload)
    return check_event(payload)


def handle_blob(conn: sqlite3.Connection, device: str, incoming: Incoming) -> list[Outgoing]:
    """One chunk (§5). Chunks are kept idempotently by (blob_id, index); the ack reflects the blob:
    ``stored`` once whole and its sha256 matches, ``corrupt`` (chunks discarded) when not, ``missing``
    when the last index has arrived and earlier ones are absent; no ack for a chunk in between."""
    msg_id = incoming.user.get("msg_id") or ""
    header, reason = check_chunk(incoming.user, len(incoming.payload))
    if header is None:
        if msg_id and len(msg_id) <= 128:
            log.warning("rejected blob chunk %s from %s: %s", msg_id, device, reason)
            return [ack(device, msg_id, AckResult.REJECTED, {"reason": reason})]
        log.warning("dropped blob chunk from %s: %s", device, reason)
        return []
    blob_id, sha = header["blob_id"], header["sha256"].lower()
    done = conn.execute("SELECT size, sha256 FROM blobs WHERE blob_id = ?", (blob_id,)).fetchone()
    if done is not None:
        if done["sha256"] != sha:
            return [ack(device, msg_id, AckResult.REJECTED,
                        {"reason": "blob_id already stored with another sha256", "blob_id": blob_id})]
        return [ack(device, msg_id, AckResult.STORED, {"blob_id": blob_id, "size": done["size"], "sha256": sha})]
    earlier = conn.execute("SELECT count, size, sha256 FROM blob_chunks WHERE blob_id = ? LIMIT 1",
                           (blob_id,)).fetchone()
    if earlier is not None and (earlier["count"], earlier["size"], earlier["sha256"]) != \
            (header["count"], header["size"], sha):
        conn.execute("DELETE FROM blob_chunks WHERE blob_id = ?", (blob_id,))  # a new upload supersedes
    conn.execute("INSERT OR REPLACE INTO blob_chunks VALUES (?,?,?,?,?,?,?)",
                 (blob_id, header["index"], header["count"], header["size"], sha, header["mime"],
                  incoming.payload))
    have = {row[0] for row in conn.execute("SELECT idx FROM blob_chunks WHERE blob_id = ?", (blob_id,))}
    if len(have) == header["count"]:
        return [finish_blob(conn, device, msg_id, header)]
    if header["index"] == header["count"] - 1:
        missing = sorted(set(range(header["count"])) - have)
        return [ack(device, msg_id, AckResult.MISSING, {"blob_id": blob_id, "missing_chunks": missing})]
    return []


def finish_blob(conn: sqlite3.Connection, device: str, msg_id: str, header: dict) -> Outgoing:
    blob_id, sha = header["blob_id"], header["sha256"].lower()
    data = b"".join(bytes(row[0]) for row in conn.execute(
        "SELECT data FROM blob_chunks WHERE blob_id = ? ORDER BY idx", (blob_id,)))
    conn.execute("DELETE FROM blob_chunks WHERE blob_id = ?", (blob_id,))
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha or len(data) != header["size"]:
        log.warning("blob %s from %s corrupt (%d bytes, sha256 %s…)", blob_id, device, len(data), actual[:12])
        return ack(device, msg_id, AckResult.CORRUPT,
                   {"blob_id": blob_id, "reason": "sha256 or size of the whole blob does not match"})
    conn.execute("INSERT INTO blobs VALUES (?,?,?,?,?,?,?)",
                 (blob_id, device, len(data), sha, header["mime"], data, real_now()))
    return ack(device, msg_id, AckResult.STORED, {"blob_id": blob_id, "size": len(data), "sha256": sha})


def handle_state(conn: sqlite3.Connection, device: str, incoming: Incoming) -> dict | None:
    """Birth or will (§1). Returns the device's new state, or None when the message changed nothing
    (malformed, or a will older than the last birth)."""
    if not incoming.payload:
        return None  # a retained state being cleared
    payload = parse_json(incoming)
    reason = check_state(payload)
    if reason is not None:
        log.warning("dropped state from %s: %s", device, reason)
        return None
    row = conn.execute("SELECT birth_epoch FROM devices WHERE device = ?", (device,)).fetchone()
    birth_epoch = row["birth_epoch"] if row is not None else None
    epoch, online = payload["epoch"], payload["online"]
    if not online and birth_epoch is not None and epoch < birth_epoch:
        log.info("ignored will of %s with epoch %d older than birth %d", device, epoch, birth_epoch)
        return None
    if online:
        birth_epoch = epoch if birth_epoch is None else max(birth_epoch, epoch)
    conn.execute("INSERT OR REPLACE INTO devices VALUES (?,?,?,?,?,?)",
                 (device, int(online), epoch, birth_epoch, json.dumps(payload, ensure_ascii=False),
                  iso(datetime.now(CHINA_TZ))))
    return {"device": device, "online": online, "epoch": epoch}
