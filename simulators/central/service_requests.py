"""Answers to the addendum's requests: 催办 / 投诉 with a receipt number, 撤回 before acceptance, an agent's
registration (green channel, village points) and 本村办件 — the cases of an agent's village points from
every agent and terminal. Who acts is proven by the applicant's card (id_type + id_no, matched on the
stored hash) or by an agent's day token, which central signed at ``agent.login``."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from simulators.central import store
from simulators.central.catalog import Catalog
from simulators.central.context import Context, Outgoing, real_now
from simulators.central.contract import CaseStatus
from simulators.central.handlers import applicant_key
from simulators.central.notify import force_status
from simulators.central.progress import case_state, full_view
from simulators.central.signing import COMMAND_KEY, verify
from simulators.central.workdays import iso

HOTLINE = "12345"
REPLY_DAYS = {"urge": 2, "complaint": 5}
RECEIPT_PREFIX = {"urge": "CB", "complaint": "TS"}


def agent_of_token(ctx: Context, device: str, agent_id: str, token: Any) -> dict | None:
    """The registered agent when ``token`` is central's valid, unexpired day token of this agent on this
    device; None otherwise."""
    public = ctx.keys.public_keys().get(COMMAND_KEY)
    if not isinstance(token, dict) or public is None or not verify(token, public):
        return None
    if token.get("type") != "agent.token" or token.get("agent_id") != agent_id or token.get("device") != device:
        return None
    try:
        expired = datetime.fromisoformat(str(token.get("expires_at"))) <= ctx.clock.now_dt()
    except ValueError:
        return None
    return None if expired else ctx.agents.get(agent_id)


def agent_points(catalog: Catalog, agent: dict) -> list[str]:
    return catalog.points_of_villages([str(v) for v in agent.get("villages", [])])


def case_points(ctx: Context, row: Any) -> set[str]:
    """The village points a case belongs to: submitted at a village point's terminal, picked up at a point,
    or submitted by an agent serving the point's village."""
    codes = {p["code"] for p in ctx.catalog.village_points}
    points = {row["site"]} & codes
    pickup = json.loads(row["envelope"]).get("pickup") or {}
    if pickup.get("method") == "village_point":
        points |= {str(pickup.get("detail") or "").split(" ")[0]} & codes
    agent = ctx.agents.get(row["agent_id"]) if row["agent_id"] else None
    if agent is not None:
        points |= set(agent_points(ctx.catalog, agent))
    return points


def may_act(ctx: Context, device: str, row: Any, by: dict) -> str | None:
    """None when ``by`` may act on the case; else the error (mismatch, bad_token)."""
    if by.get("applicant") is not None:
        applicant = by["applicant"]
        return None if row["applicant_key"] == applicant_key(applicant) else "mismatch"
    agent = agent_of_token(ctx, device, str(by.get("agent_id")), by.get("token"))
    if agent is None:
        return "bad_token"
    if row["agent_id"] == agent["agent_id"] or case_points(ctx, row) & set(agent_points(ctx.catalog, agent)):
        return None
    return "mismatch"


def acting_on(ctx: Context, conn: sqlite3.Connection, device: str, p: dict) -> tuple[Any, str | None]:
    """(the case of ``p["query_code"]``, None) when ``p["by"]`` may act on it; else (None, the error:
    not_found, mismatch, bad_token)."""
    row = store.case_by_code(conn, p["query_code"])
    if row is None:
        return None, "not_found"
    refusal = may_act(ctx, device, row, p["by"])
    return (None, refusal) if refusal is not None else (row, None)


def complaint_file(ctx: Context, conn: sqlite3.Connection, device: str, p: dict) -> tuple[dict, list[Outgoing]]:
    row, error = acting_on(ctx, conn, device, p)
    if error is not None:
        return {"ok": False, "error": error}, []
    kind = p["kind"]
    now = ctx.clock.now_dt()
    number = store.next_counter(conn, f"complaint:{kind}")
    receipt_no = f"{RECEIPT_PREFIX[kind]}{now:%Y%m%d}{number:05d}"
    callback = p.get("callback") or {}
    store.record_complaint(conn, receipt_no, kind, row["case_id"], device, p["category"], p.get("text", ""),
                           p["by"].get("agent_id"), callback.get("phone") if callback.get("consent") else None,
                           real_now())
    return {"ok": True, "receipt_no": receipt_no, "kind": kind, "received_at": iso(now),
            "reply_within_days": REPLY_DAYS[kind], "hotline": HOTLINE}, []


def case_withdraw(ctx: Context, conn: sqlite3.Connection, device: str, p: dict) -> tuple[dict, list[Outgoing]]:
    row, error = acting_on(ctx, conn, device, p)
    if error is not None:
        return {"ok": False, "result": error}, []
    status, _ = case_state(row, ctx.clock.now())
    if status != CaseStatus.RECEIVED.value:
        return {"ok": False, "result": "not_allowed", "status": status}, []
    out = force_status(ctx, conn, row["case_id"], CaseStatus.WITHDRAWN.value)
    return {"ok": True, "result": "withdrawn", "status": CaseStatus.WITHDRAWN.value}, [out] if out else []


def agent_profile(ctx: Context, conn: sqlite3.Connection, device: str, p: dict) -> tuple[dict, list[Outgoing]]:
    agent = agent_of_token(ctx, device, p["agent_id"], p["token"])
    if agent is None:
        return {"ok": False, "error": "bad_token"}, []
    green = agent.get("green_channel") is True
    return {"ok": True, "agent_id": agent["agent_id"], "green_channel": green,
            "green_max_cases": int(agent.get("green_max_cases", 0)) if green else 0,
            "villages": list(agent.get("villages", [])), "village_points": agent_points(ctx.catalog, agent)}, []


def village_cases(ctx: Context, conn: sqlite3.Connection, device: str, p: dict) -> tuple[dict, list[Outgoing]]:
    agent = agent_of_token(ctx, device, p["agent_id"], p["token"])
    if agent is None:
        return {"ok": False, "error": "bad_token"}, []
    points = set(agent_points(ctx.catalog, agent))
    if p.get("village_point"):
        points &= {p["village_point"]}
    now = ctx.clock.now()
    cases = [full_view(row, ctx.catalog, now, conn) for row in store.all_cases(conn)
             if row["agent_id"] == agent["agent_id"] or case_points(ctx, row) & points][:200]
    return {"ok": True, "village_points": sorted(points), "cases": cases}, []


ANSWERS = {"complaint.file": complaint_file, "case.withdraw": case_withdraw, "agent.profile": agent_profile,
           "village.cases": village_cases}
