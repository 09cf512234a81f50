"""Up messages of the addendum "Services" once screened: a 好差评 evaluation (one per service, whatever
terminal sends it: a second one is rejected), the link of a 一件事一次办 submission's cases, and a 补正
(``case.correction`` on the case topic: deduplicated by msg_id and correction_id, blobs first, accepted only
for a case that awaits exactly these materials, after which its progress starts again)."""
from __future__ import annotations

import json
import logging
import sqlite3

from simulators.central import store
from simulators.central.context import Context, Outgoing, real_now
from simulators.central.contract import AckResult, CaseStatus
from simulators.central.handlers import ack, duplicate, missing_blobs, reject
from simulators.central.notify import notify
from simulators.central.progress import case_pace, case_state, plan
from simulators.central.service_requests import may_act

log = logging.getLogger("central.services")


def apply_event(conn: sqlite3.Connection, device: str, payload: dict) -> str | None:
    """Stores what an addendum event means; returns a rejection reason, or None (also for other types)."""
    kind = payload.get("type")
    if kind == "service.evaluation":
        service = payload["service"]
        if store.evaluation_exists(conn, service["kind"], service["ref"]):
            return "already_evaluated: one evaluation per service"
        store.record_evaluation(conn, payload["msg_id"], device, payload, real_now())
    elif kind == "case.bundle":
        bundle = payload["bundle"]
        store.record_bundle(conn, payload["bundle_id"], bundle["code"], bundle["name"], payload["cases"], device)
    return None


def handle_correction(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> list[Outgoing]:
    msg_id, correction_id = payload["msg_id"], payload["correction_id"]
    first = store.correction_answer(conn, correction_id)
    if first is not None:
        seen = store.seen_message(conn, first)
        return [duplicate(conn, device, payload, json.loads(seen["detail"]) if seen is not None else {})]
    missing = missing_blobs(conn, payload)
    if missing:
        return [ack(device, msg_id, AckResult.INCOMPLETE, {"missing_blobs": missing})]
    row = store.case_by_code(conn, payload["query_code"])
    if row is None:
        return [reject(conn, device, "case", payload, msg_id, "no case with this query_code")]
    if may_act(ctx, device, row, payload["by"]) is not None:
        return [reject(conn, device, "case", payload, msg_id, "not the applicant or an agent of the case")]
    status, _ = case_state(row, ctx.clock.now())
    wanted = {c["code"] for c in store.open_corrections(conn, row["case_id"])}
    if status != CaseStatus.CORRECTION_NEEDED.value or not wanted:
        return [reject(conn, device, "case", payload, msg_id, "the case does not await a correction")]
    given = {m["code"] for m in payload["materials"]}
    if not wanted <= given:
        return [reject(conn, device, "case", payload, msg_id,
                       f"materials missing: {', '.join(sorted(wanted - given))}")]
    now = ctx.clock.now_dt()
    store.answer_corrections(conn, row["case_id"], correction_id, msg_id, real_now())
    # Progress starts again from now, accepted at once: the missing materials have arrived.
    timeline = plan(ctx.catalog.rule(row["item_code"]), now, case_pace(row["case_id"], ctx.pace),
                    ctx.catalog.calendar, accepted_at_once=True)
    store.replan_case(conn, row["case_id"], timeline, CaseStatus.ACCEPTED.value)
    detail = {"case_no": row["case_no"], "status": CaseStatus.ACCEPTED.value, "correction_id": correction_id}
    store.record_message(conn, msg_id, device, "case", payload["seq"], AckResult.ACCEPTED.value, detail, real_now())
    log.info("correction %s of case %s accepted", correction_id, row["case_id"])
    fresh = store.case_row(conn, row["case_id"])
    pushed = notify(fresh, ctx, ctx.clock.now(), "correction", conn=conn,
                    version=store.next_push(conn, row["case_id"]))
    return [ack(device, msg_id, AckResult.ACCEPTED, detail), pushed]


def request_correction(ctx: Context, conn: sqlite3.Connection, ref: str, codes: list[str],
                       note: str) -> Outgoing | None:
    """The stdin ``correction`` command: the case (case_id, query code or case number) now awaits these
    materials (补正); returns its notify, None when there is no such case."""
    from simulators.central.notify import find_case, force_status

    row = find_case(conn, ref)
    if row is None:
        return None
    names = {m.get("code"): m.get("name") for m in ctx.catalog.materials(row["item_code"], row["situation"])}
    store.request_corrections(conn, row["case_id"], [{"code": c, "name": str(names.get(c) or c), "note": note}
                                                     for c in codes], real_now())
    return force_status(ctx, conn, row["case_id"], CaseStatus.CORRECTION_NEEDED.value)
