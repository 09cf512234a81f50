"""Putting messages into the durable outbox: a case with its blobs and its outbox row in one
transaction, events, and the storage budget that refuses new cases instead of dropping old ones."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from edge_sync.config import SyncConfig
from edge_sync.crypto import DeviceKey
from edge_sync.models import CaseEnvelope
from edge_sync.querycode import ALPHABET, is_query_code, mint_query_code
from edge_sync.results import Attachment, CaseExists, InvalidCase, StorageFull, Submitted
from edge_sync.store import BlobState, CaseState, Kind, RowState, Store

_MB = 1024 * 1024
SEGMENT = 256 * 1024     # storage piece of a blob (independent of the chunk size on the wire)


def now_iso() -> str:
    """Device wall clock as RFC 3339 with the local offset."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_msg_id() -> str:
    """A ULID (contract §2 allows ULID or UUID): 48 bits of Unix milliseconds, then 80 random bits, in
    Crockford base32. Ids made one after another sort together, so the outbox's msg_id index grows and
    empties at one end: applying central's acks dirties a third fewer pages than with random UUIDs (fewer
    bytes for the SD card and for the fsync of the next submission; issue 15). A clock that jumps back
    only costs that locality: the 80 random bits keep every id unique."""
    value = (time.time_ns() // 1_000_000 & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(ALPHABET[value >> shift & 31] for shift in range(125, -1, -5))


def applicant_lookup(key: DeviceKey, applicant: Mapping[str, Any]) -> str:
    """Keyed hash of (id_type, id_no): finds an applicant's cases without keeping the number in clear."""
    return key.lookup_id(str(applicant.get("id_type", "resident")), str(applicant.get("id_no", "")))


def check_budget(store: Store, cfg: SyncConfig, incoming: int = 0) -> None:
    """Raises StorageFull when the disk is nearly full or the store is over its budget."""
    free = store.disk_free_bytes() - incoming
    if free < cfg.min_free_mb * _MB:
        raise StorageFull(f"disk free {free // _MB} MB below the {cfg.min_free_mb:g} MB threshold")
    used = store.size_bytes() + incoming
    if used > cfg.max_store_mb * _MB:
        raise StorageFull(f"store uses {used // _MB} MB, budget {cfg.max_store_mb:g} MB")


def build_case(cfg: SyncConfig, fields: Mapping[str, Any],
               attachments: Iterable[Attachment]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The envelope (``seq`` still 0) and one blob row per attachment. Raises InvalidCase."""
    env: dict[str, Any] = {k: v for k, v in fields.items()
                           if k not in ("type", "v", "msg_id", "seq", "sent_at", "device", "site")}
    env.setdefault("case_id", str(uuid.uuid4()))
    env.setdefault("query_code", mint_query_code())
    env.setdefault("created_at", now_iso())
    if not is_query_code(env["query_code"]):
        raise InvalidCase("query_code is not a canonical query code (17 symbols with a valid check)")
    materials = [dict(m) for m in env.get("materials") or []]
    blobs: list[dict[str, Any]] = []
    for att in attachments:
        blob_id = att.blob_id or f"b-{uuid.uuid4().hex}"
        ref = {"id": blob_id, "sha256": hashlib.sha256(att.data).hexdigest(), "size": len(att.data),
               "pages": att.pages, "mime": att.mime}
        # The material that names this blob id, else the first scan material of that code without one.
        target = next((m for m in materials if att.blob_id and isinstance(m.get("blob"), dict)
                       and m["blob"].get("id") == att.blob_id), None) or \
            next((m for m in materials if m.get("code") == att.material_code and m.get("source") == "scan"
                  and not m.get("blob")), None)
        if target is None:
            materials.append({"code": att.material_code, "source": "scan", "blob": ref})
        else:
            target["blob"] = ref
        blobs.append({**ref, "data": att.data})
    env["materials"] = materials
    env.update(type="case.submit", v=1, msg_id=new_msg_id(), seq=1, sent_at=now_iso(),
               device=cfg.device_id, site=cfg.site_id)
    try:
        model = CaseEnvelope.model_validate(env)
    except ValidationError as exc:
        # The error text may quote personal data: report field names only.
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise InvalidCase(f"invalid case fields: {where}") from None
    out = model.model_dump(mode="json")
    # Optional parts absent rather than null (central reads "catalog" present as "must be an integer").
    out["item"] = {k: v for k, v in out["item"].items() if v is not None}
    out["materials"] = [{k: v for k, v in m.items() if v is not None} for m in out["materials"]]
    return out, blobs


def enqueue_case(store: Store, key: DeviceKey, cfg: SyncConfig, fields: Mapping[str, Any],
                 attachments: Iterable[Attachment] = ()) -> Submitted:
    """Commits the case, its blobs and its outbox row in ONE transaction; returns only when durable.

    Raises StorageFull (nothing stored), InvalidCase (nothing stored)."""
    atts = list(attachments)
    env, blobs = build_case(cfg, fields, atts)
    return store_case_message(store, key, cfg, env, blobs, env["case_id"], env["applicant"])


def store_case_message(store: Store, key: DeviceKey, cfg: SyncConfig, env: dict[str, Any],
                       blobs: list[dict[str, Any]], case_id: str, applicant: Mapping[str, Any]) -> Submitted:
    """One message of the case topic (``env`` complete but for ``seq``), its blobs and its outbox row in one
    transaction; ``case_id`` keys it in the ``cases`` table (a case, or a correction of the addendum).
    Raises StorageFull, CaseExists (nothing stored)."""
    check_budget(store, cfg, incoming=sum(len(b["data"]) for b in blobs) + 4096)
    msg_id = env["msg_id"]
    sealed_blobs = [(b, seal_segments(key, b["id"], b["data"])) for b in blobs]
    now = time.time()
    with store.tx() as c:
        seq = store.next_seq(Kind.CASE)
        env["seq"] = seq
        try:   # the key finds a case_id stored before: no statement of its own (issue 15)
            c.execute("INSERT INTO cases(case_id, seq, msg_id, query_code, created_at, test, state, applicant,"
                      " lookup) VALUES (?,?,?,?,?,?,?,?,?)",
                      (case_id, seq, msg_id, env["query_code"], env["created_at"], int(env.get("test", False)),
                       CaseState.QUEUED.value, key.seal_json(dict(applicant), case_id.encode()),
                       applicant_lookup(key, applicant)))
        except sqlite3.IntegrityError as exc:
            if "cases.case_id" not in str(exc):
                raise
            raise CaseExists("case_id already submitted on this device") from None
        for b, sealed in sealed_blobs:
            ord_ = store.next_seq(Kind.BLOB)
            c.execute("INSERT INTO blobs(blob_id, ord, case_id, msg_prefix, size, sha256, mime, pages, state,"
                      " created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (b["id"], ord_, case_id, uuid.uuid4().hex, b["size"], b["sha256"], b["mime"], b["pages"],
                       BlobState.PENDING.value, now))
            c.executemany("INSERT INTO blob_data(blob_id, seg, data) VALUES (?, ?, ?)",
                          [(b["id"], n, part) for n, part in enumerate(sealed)])
        c.execute("INSERT INTO outbox(msg_id, kind, seq, case_id, body, created_at, state) VALUES (?,?,?,?,?,?,?)",
                  (msg_id, Kind.CASE.value, seq, case_id, seal_body(key, env), now,
                   (RowState.BLOCKED if blobs else RowState.READY).value))
    return Submitted(case_id=case_id, query_code=env["query_code"], msg_id=msg_id, seq=seq)


def enqueue_event(store: Store, key: DeviceKey, cfg: SyncConfig, type_: str, fields: Mapping[str, Any],
                  force: bool = False) -> str:
    """Durable event through the outbox; returns its msg_id. Raises StorageFull unless ``force``."""
    if not force:
        check_budget(store, cfg, incoming=4096)
    msg_id = new_msg_id()
    with store.tx() as c:
        seq = store.next_seq(Kind.EVENT)
        body = {**fields, "type": type_, "v": 1, "msg_id": msg_id, "seq": seq, "sent_at": now_iso()}
        c.execute("INSERT INTO outbox(msg_id, kind, seq, case_id, body, created_at, state) VALUES (?,?,?,?,?,?,?)",
                  (msg_id, Kind.EVENT.value, seq, None, seal_body(key, body), time.time(), RowState.READY.value))
    return msg_id


def seal_segments(key: DeviceKey, blob_id: str, data: bytes) -> list[bytes]:
    """The blob in SEGMENT-sized pieces, each encrypted and bound to (blob_id, index)."""
    return [key.seal(data[off:off + SEGMENT], f"{blob_id}:{n}".encode())
            for n, off in enumerate(range(0, max(1, len(data)), SEGMENT))]


def seal_body(key: DeviceKey, body: Mapping[str, Any]) -> bytes:
    """Outgoing JSON, encrypted at rest (it may hold an ID number) and bound to its msg_id."""
    return key.seal(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                    str(body["msg_id"]).encode())


def open_body(key: DeviceKey, msg_id: str, sealed: bytes) -> bytes:
    return key.open(sealed, msg_id.encode())


def outbox_stats(store: Store) -> dict[str, Any]:
    """Depth per kind and age of the oldest pending message (seconds)."""
    depth = {k.value: 0 for k in Kind}
    for kind, n in store.query("SELECT kind, COUNT(*) FROM outbox GROUP BY kind"):
        depth[kind] = n
    depth[Kind.BLOB.value] = store.scalar("SELECT COUNT(*) FROM blobs WHERE state = ?", (BlobState.PENDING.value,))
    oldest: float | None = store.scalar(
        "SELECT MIN(t) FROM (SELECT MIN(created_at) AS t FROM outbox UNION ALL "
        "SELECT MIN(created_at) FROM blobs WHERE state = 'pending')")
    return {"depth": depth, "total": sum(depth.values()),
            "oldest_s": None if oldest is None else round(max(0.0, time.time() - oldest), 1)}
