"""Answers to the requests of §6 (case.query, case.list, pickup.verify, queue.take, agent.login,
materials.shared). Each answer goes to the request's Response Topic with its Correlation Data."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import time
from datetime import datetime
from typing import Any

from simulators.central import addendum, service_requests, store
from simulators.central.context import Context, Incoming, Outgoing, real_now
from simulators.central.contract import REQUEST_TYPES, CaseStatus, check_envelope, check_request, down_topic
from simulators.central.handlers import applicant_key, parse_json, usable_msg_id
from simulators.central.progress import case_state, full_view, masked_view, pickup_window
from simulators.central.signing import COMMAND_KEY
from simulators.central.workdays import end_of_day, iso

log = logging.getLogger("central.request")

REPLY_TYPES = {"case.query": "case.status", "case.list": "case.list", "pickup.verify": "pickup.result",
               "queue.take": "queue.ticket", "agent.login": "agent.session", "materials.shared": "materials.shared"}
QUEUE_LETTERS = {"SOC": "A", "ECO": "B", "CON": "C"}
GREEN_LETTER = "V"  # 绿色通道 tickets share one priority sequence
DEFAULT_AGENT = {"agent_id": "AG-0031", "name": "欧阳晓雯", "id_no": "510107199903050262",
                 "pin_sha256": hashlib.sha256(b"AG-0031:123456").hexdigest(),
                 "villages": ["江北街道示例村", "东城街道示例社区"]}
# Without an agents file: the hall's village agent above, a second agent of one of its villages, and a
# project agent (项目代办员) registered for the green channel (绿色通道, 一号多件) with up to 5 cases.
DEFAULT_AGENTS: list[dict[str, Any]] = [
    DEFAULT_AGENT,
    {"agent_id": "AG-0032", "name": "周玉兰", "id_no": "511921195809230842",
     "pin_sha256": hashlib.sha256(b"AG-0032:112233").hexdigest(), "villages": ["江北街道示例村"]},
    {"agent_id": "AG-0058", "name": "赵志强", "id_no": "51190219730415109X",
     "pin_sha256": hashlib.sha256(b"AG-0058:654321").hexdigest(), "villages": [],
     "green_channel": True, "green_max_cases": 5},
]


def load_agents(path: str | None) -> dict[str, dict]:
    """Agents by id from a JSON file ``{"agents": [...]}``; the default sample agent when no file.
    Raises OSError or ValueError on an unreadable file."""
    if not path:
        return {a["agent_id"]: a for a in DEFAULT_AGENTS}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return {a["agent_id"]: a for a in data.get("agents", []) if isinstance(a, dict) and "agent_id" in a}


def handle_request(ctx: Context, conn: sqlite3.Connection, device: str, incoming: Incoming) -> list[Outgoing]:
    payload = parse_json(incoming)
    if not isinstance(payload, dict) or payload.get("type") not in (*REQUEST_TYPES, *addendum.REQUEST_TYPES):
        log.warning("dropped request from %s: not JSON or unknown type", device)
        return []
    if incoming.expiry is not None and time.monotonic() - incoming.arrived > incoming.expiry:
        log.info("ignored expired %s from %s", payload["type"], device)
        return []
    kind = payload["type"]
    reply: dict[str, Any] = {"type": {**REPLY_TYPES, **addendum.REPLY_TYPES}[kind], "v": 1,
                             "ref": usable_msg_id(payload), "server_time": real_now()}
    extra: list[Outgoing] = []
    if kind in addendum.REQUEST_TYPES:
        reason = check_envelope(payload, device) or addendum.check_request(payload)
    else:
        reason = check_envelope(payload, device) or check_request(payload)
    if reason is not None:
        reply.update(ok=False, error="invalid" if kind in addendum.REQUEST_TYPES else reason, reason=reason)
        if kind == "case.withdraw":
            reply["result"] = "invalid"
    elif kind in addendum.REQUEST_TYPES:
        fields, extra = service_requests.ANSWERS[kind](ctx, conn, device, payload)
        reply.update(fields)
        broken = addendum.check_reply(reply)
        if broken is not None:  # a fault of the simulator itself: say so loudly, answer what can be said
            log.error("reply to %s breaks the addendum: %s", kind, broken)
    else:
        reply.update(ANSWERS[kind](ctx, conn, device, payload))
    topic = incoming.response_topic or down_topic(device, "reply")
    return [Outgoing(topic, reply, correlation=incoming.correlation), *extra]


def case_query(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> dict:
    row = conn.execute("SELECT * FROM cases WHERE query_code = ?", (payload["query_code"],)).fetchone()
    if row is None:
        return {"found": False}
    return {"found": True, "case": masked_view(row, ctx.catalog, ctx.clock.now())}


def case_list(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> dict:
    rows = conn.execute("SELECT * FROM cases WHERE applicant_key = ? ORDER BY received_at DESC, "
                        "recv_order DESC LIMIT 100", (applicant_key(payload["applicant"]),)).fetchall()
    now = ctx.clock.now()
    return {"cases": [full_view(row, ctx.catalog, now, conn) for row in rows]}


def pickup_verify(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> dict:
    row = conn.execute("SELECT * FROM cases WHERE query_code = ?", (payload["query_code"],)).fetchone()
    if row is None:
        return {"result": "not_found", "ok": False, "window": None}
    if row["applicant_key"] != applicant_key(payload["applicant"]):
        return {"result": "mismatch", "ok": False, "window": None}
    status, _ = case_state(row, ctx.clock.now())
    window = pickup_window(row, ctx.catalog)
    if status != CaseStatus.READY_FOR_PICKUP.value:
        return {"result": "not_ready", "ok": False, "status": status, "window": window}
    return {"result": "ok", "ok": True, "status": status, "window": window}


def queue_take(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> dict:
    """A number per hall (site), category (SOC→A, ECO→B, CON→C) and day; green-channel tickets (绿色通道)
    take a separate V sequence served first, so only earlier green tickets wait ahead of them. The hall
    is the device registry's (or that of the device's latest case): each hall calls its own numbers."""
    category, priority = payload["category"], payload.get("priority", "normal")
    cases = payload.get("cases", 1)
    if priority == "green":
        # 绿色通道 only for agents central registered for it, within their number of cases (addendum).
        agent = ctx.agents.get(str(payload.get("agent_id")))
        if agent is None or agent.get("green_channel") is not True:
            return {"ok": False, "error": "green_not_registered"}
        if not 2 <= cases <= int(agent.get("green_max_cases", 0)):
            return {"ok": False, "error": "green_cases"}
    day = ctx.clock.now_dt().date().isoformat()
    letter = GREEN_LETTER if priority == "green" else QUEUE_LETTERS[category]
    site = store.device_site(conn, device) or "-"
    n = store.next_counter(conn, f"ticket:{site}:{day}:{category}:{priority}")
    number = f"{letter}{n:03d}"
    # people are called at a steady pace from 09:00: one per 4 simulated minutes in each queue
    opened = datetime.fromisoformat(f"{day}T09:00:00+08:00").timestamp()
    served = max(0, int((ctx.clock.now() - opened) / 240))
    waiting = max(0, n - 1 - served) if priority == "normal" else max(0, n - 1 - served * 2)
    conn.execute("INSERT INTO tickets (day, category, priority, n, number, device, cases, issued_at) "
                 "VALUES (?,?,?,?,?,?,?,?)", (day, category, priority, n, number, device, cases, real_now()))
    windows = ctx.catalog.windows(category)
    if priority == "green" and windows:
        hint = f"绿色通道 {windows[-1]}号窗口"
    elif windows:
        hint = f"{windows[0]}-{windows[-1]}号窗口"
    else:
        hint = ""
    return {"number": number, "category": category, "priority": priority, "waiting": waiting,
            "window_hint": hint, "cases": cases}


def agent_login(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> dict:
    agent = ctx.agents.get(payload["agent_id"])
    pin_hash = hashlib.sha256(f"{payload['agent_id']}:{payload['pin']}".encode()).hexdigest()
    if agent is None or not hmac.compare_digest(str(agent.get("pin_sha256", "")).lower(), pin_hash) \
            or str(agent.get("id_no", "")).upper() != payload["id_no"].upper():
        # one answer for every failure: a guesser must not learn which part was wrong
        return {"ok": False, "reason": "bad_credentials", "message": "代办员编号、身份证或密码不正确"}
    now = ctx.clock.now_dt()
    expires = end_of_day(now.date())
    token = ctx.keys.sign({"type": "agent.token", "v": 1, "agent_id": agent["agent_id"],
                           "name": agent.get("name", ""), "villages": agent.get("villages", []),
                           "device": device, "issued_at": iso(now), "expires_at": iso(expires)}, COMMAND_KEY)
    return {"ok": True, "agent_id": agent["agent_id"], "name": agent.get("name", ""), "token": token,
            "expires_at": iso(expires), "villages": agent.get("villages", [])}


def materials_shared(ctx: Context, conn: sqlite3.Connection, device: str, payload: dict) -> dict:
    known = payload["item"] in ctx.catalog.items
    return {"item": payload["item"], "situation": payload["situation"], "known": known,
            "materials": ctx.catalog.shareable_codes(payload["item"], payload["situation"])}


ANSWERS = {"case.query": case_query, "case.list": case_list, "pickup.verify": pickup_verify,
           "queue.take": queue_take, "agent.login": agent_login, "materials.shared": materials_shared}
