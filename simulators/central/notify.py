"""Status pushes (``down/{device}/notify``): the events of each case's timeline that have come due on
the simulated clock, and statuses forced from stdin. Payload:
``{"type": "case.notify", "v": 1, "case_id", "query_code", "case_no", "status", "reason"
(step/light/forced), "version", "at", "server_time", "case": <masked view>, "full": <full view>}``;
``version`` counts the pushes of the case (contract addendum, Fleet): a terminal never lets an older
push overwrite a newer one. ``case`` is the
masked view because a kiosk may cache it to answer a query by code alone; ``full`` adds what only the
card holder may see."""
from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime
from typing import Any

from simulators.central import store
from simulators.central.context import Context, Outgoing, real_now
from simulators.central.contract import down_topic
from simulators.central.progress import full_view, masked_view
from simulators.central.workdays import CHINA_TZ, iso

log = logging.getLogger("central.notify")

TICK_LIMIT = 200  # cases per tick, so that a big ``advance`` never starves the acks
EPSILON = 0.001   # look just after an event's moment so that the event itself shows


def notify(row: Any, ctx: Context, moment: float, reason: str, *, conn: Any = None, version: int = 0) -> Outgoing:
    """A ``case.notify`` for ``row``; ``version`` orders the case's pushes (addendum, Fleet); with ``conn``
    the full view also carries the case's 补正 requests and bundle (addendum, Services)."""
    view = full_view(row, ctx.catalog, moment, conn)
    masked = masked_view(row, ctx.catalog, moment)
    return Outgoing(down_topic(row["device"], "notify"),
                    {"type": "case.notify", "v": 1, "case_id": row["case_id"], "query_code": row["query_code"],
                     "case_no": row["case_no"], "status": view["status"], "reason": reason, "version": version,
                     "at": iso(datetime.fromtimestamp(moment, CHINA_TZ)), "server_time": real_now(),
                     "case": masked, "full": view})


def due_notifies(ctx: Context, conn: sqlite3.Connection) -> list[Outgoing]:
    """Advances every case whose next event is due (inside the caller's transaction, so two instances
    never push the same event twice) and returns the notifies to publish after commit."""
    now = ctx.clock.now()
    rows = conn.execute("SELECT * FROM cases WHERE next_at IS NOT NULL AND next_at <= ? "
                        "AND forced_status IS NULL ORDER BY next_at LIMIT ?", (now, TICK_LIMIT)).fetchall()
    out: list[Outgoing] = []
    for row in rows:
        try:
            out.extend(advance_case(ctx, conn, row, now))
        except (ValueError, KeyError, TypeError, IndexError):
            # a row this code cannot read must not come back every tick: it stops moving, loudly
            log.exception("case %s cannot progress; its progress stops", row["case_id"])
            conn.execute("UPDATE cases SET next_at = NULL WHERE case_id = ?", (row["case_id"],))
    return out


def advance_case(ctx: Context, conn: sqlite3.Connection, row: sqlite3.Row, now: float) -> list[Outgoing]:
    """The notifies of one case's events due by ``now``; records how far it got."""
    events = json.loads(row["timeline"])["events"]
    index, status, out = row["notified"], row["status"], []
    while index < len(events) and events[index][0] <= now:
        message = notify(row, ctx, events[index][0] + EPSILON, events[index][1], conn=conn,
                         version=store.next_push(conn, row["case_id"]))
        status = message.payload["status"]
        out.append(message)
        index += 1
    next_at = events[index][0] if index < len(events) else None
    conn.execute("UPDATE cases SET notified = ?, next_at = ?, status = ? WHERE case_id = ? AND notified = ?",
                 (index, next_at, status, row["case_id"], row["notified"]))
    return out


def find_case(conn: sqlite3.Connection, ref: str) -> sqlite3.Row | None:
    """A case by case_id, query code (dashes and case tolerated) or case number."""
    code = ref.replace("-", "").replace(" ", "").upper()
    return conn.execute("SELECT * FROM cases WHERE case_id = ? OR query_code = ? OR case_no = ?",
                        (ref, code, ref)).fetchone()


def force_status(ctx: Context, conn: sqlite3.Connection, ref: str, status: str) -> Outgoing | None:
    """Sets a status by hand (it then stays: progress stops) and returns its notify; None when no case."""
    row = find_case(conn, ref)
    if row is None:
        return None
    now = ctx.clock.now()
    conn.execute("UPDATE cases SET forced_status = ?, forced_at = ?, status = ?, next_at = NULL "
                 "WHERE case_id = ?", (status, iso(datetime.fromtimestamp(now, CHINA_TZ)), status, row["case_id"]))
    row = conn.execute("SELECT * FROM cases WHERE case_id = ?", (row["case_id"],)).fetchone()
    return notify(row, ctx, now, "forced", conn=conn, version=store.next_push(conn, row["case_id"]))
