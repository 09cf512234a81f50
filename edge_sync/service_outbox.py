"""Durable submission paths of the contract addendum "Services": the cases of one 一件事一次办 submission
and their ``case.bundle`` link in ONE transaction, and a 补正 (``case.correction``) stored like a case
(cases table row keyed by its correction_id, blobs first, acked on the case topic)."""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from edge_sync.config import SyncConfig
from edge_sync.crypto import DeviceKey
from edge_sync.outbox import enqueue_case, enqueue_event, new_msg_id, now_iso, store_case_message
from edge_sync.results import Attachment, InvalidCase, Submitted
from edge_sync.service_models import Correction
from edge_sync.store import Store


def enqueue_cases(store: Store, key: DeviceKey, cfg: SyncConfig,
                  cases: Sequence[tuple[Mapping[str, Any], Sequence[Attachment]]],
                  events: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> list[Submitted]:
    """Every case (with its attachments) and every event, or none of them: one transaction.
    Raises StorageFull, InvalidCase, CaseExists (nothing stored)."""
    with store.tx():
        submitted = [enqueue_case(store, key, cfg, fields, atts) for fields, atts in cases]
        for type_, fields in events:
            enqueue_event(store, key, cfg, type_, fields, force=True)  # the budget was checked for the cases
    return submitted


def enqueue_correction(store: Store, key: DeviceKey, cfg: SyncConfig, fields: Mapping[str, Any],
                       attachments: Iterable[Attachment]) -> Submitted:
    """A ``case.correction`` with one scanned material per attachment. ``fields``: the body without
    materials (correction_id, query_code, by, note; created_at minted if absent).
    Raises StorageFull, InvalidCase (invalid fields), CaseExists (this correction_id was stored before)."""
    materials, blobs = [], []
    for att in attachments:
        blob_id = att.blob_id or f"b-{uuid.uuid4().hex}"
        ref = {"id": blob_id, "sha256": hashlib.sha256(att.data).hexdigest(), "size": len(att.data),
               "pages": att.pages, "mime": att.mime}
        materials.append({"code": att.material_code, "source": "scan", "blob": ref})
        blobs.append({**ref, "data": att.data})
    env: dict[str, Any] = {**fields, "type": "case.correction", "v": 1, "materials": materials,
                           "msg_id": new_msg_id(), "seq": 1, "sent_at": now_iso(), "device": cfg.device_id,
                           "site": cfg.site_id}
    env.setdefault("created_at", now_iso())
    try:
        env = Correction.model_validate(env).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise InvalidCase(f"invalid correction fields: {where}") from None
    applicant = env["by"].get("applicant") or {}
    return store_case_message(store, key, cfg, env, blobs, env["correction_id"], applicant)
