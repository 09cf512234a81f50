"""How a case moves through its steps (环节) on the simulated clock, its lights (红黄绿灯) and the case
views of §11. A case's whole life is planned once at acceptance (a timeline), so any instance can say
where it stands at any simulated moment without further state."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from simulators.central.catalog import Catalog, ItemRule
from simulators.central.contract import CaseStatus, Light
from simulators.central.workdays import CHINA_TZ, WorkCalendar, iso

YELLOW_SHARE = 0.2  # yellow once no more than 20 % of a step's limit remains
# Mixed paces when none is forced: most steps finish at half their limit, some run close, a few late.
PACES = ((0.7, 0.5), (0.9, 0.9), (1.0, 1.3))
TERMINAL = {CaseStatus.PICKED_UP.value, CaseStatus.REJECTED.value, CaseStatus.WITHDRAWN.value}


def case_pace(case_id: str, forced: float | None) -> float:
    """Share of each step's limit the case's steps take; stable per case so every instance agrees."""
    if forced is not None:
        return forced
    share = hashlib.sha256(case_id.encode("utf-8")).digest()[0] / 256
    return next(pace for bound, pace in PACES if share < bound)


def status_after(done: int, total: int) -> str:
    """Status once ``done`` of ``total`` steps are finished: received → accepted → in_review →
    approved → certificate (last step, 制证) → ready_for_pickup."""
    if done >= total:
        return CaseStatus.READY_FOR_PICKUP.value
    if done == 0:
        return CaseStatus.RECEIVED.value
    if done == total - 1:
        return CaseStatus.CERTIFICATE.value
    if done == 1:
        return CaseStatus.ACCEPTED.value
    if done == total - 2:
        return CaseStatus.APPROVED.value
    return CaseStatus.IN_REVIEW.value


def plan(rule: ItemRule, received: datetime, pace: float, calendar: WorkCalendar,
         accepted_at_once: bool = False) -> dict[str, Any]:
    """The timeline of a case: each step's start, due and finish (simulated epoch seconds) and the
    moments a notify goes out (each step finished, and each light change of a step still running).
    ``accepted_at_once``: the first step (受理) is done on receipt — every material arrived electronically
    and the item needs no window check (addendum "Services")."""
    steps, events = [], []
    start = received.timestamp()
    # The promise (promised_by) counts the limits from the day after receipt; each step counts its own from
    # the day it starts, 0 meaning that same working day. After a receipt on a non-working day the two
    # disagree: a 0-day first step takes the Monday the promise already counts as day 1, and a case on
    # time would end after its promised date. Such a case's steps are then also due by the limits so far,
    # counted as the promise counts them (a step that starts later than that keeps its own limit).
    off_day = not calendar.is_workday(received.date())
    limits_so_far = 0
    for k, step in enumerate(rule.steps):
        raw_limit = step.get("limit_days")
        limit = raw_limit if isinstance(raw_limit, int) else 0
        limits_so_far += max(0, limit)
        due = calendar.due_epoch(datetime.fromtimestamp(start, CHINA_TZ).date(), max(0, limit))
        if off_day:
            by_promise = calendar.due_epoch(received.date(), limits_so_far)
            if start <= by_promise < due:
                due = by_promise
        span = due - start
        finish = start if k == 0 and accepted_at_once else start + span * pace
        yellow_at = start + span * (1 - YELLOW_SHARE)
        if yellow_at < finish:
            events.append([yellow_at, "light"])
        if due < finish:
            events.append([due, "light"])
        events.append([finish, "step"])
        steps.append({"code": str(step.get("code", f"P{k + 1:02d}")), "name": str(step.get("name", "")),
                      "limit_days": limit, "start": start, "due": due, "finish": finish})
        start = finish
    return {"steps": steps, "events": sorted(events)}


def light_at(step: dict, moment: float) -> str:
    if moment > step["due"]:
        return Light.RED.value
    span = max(1.0, step["due"] - step["start"])
    return Light.YELLOW.value if step["due"] - moment <= YELLOW_SHARE * span else Light.GREEN.value


def _stamp(epoch: float | None) -> str | None:
    return None if epoch is None else iso(datetime.fromtimestamp(epoch, CHINA_TZ))


def step_views(timeline: dict, moment: float, all_done_at: float | None = None) -> tuple[list[dict], int]:
    """Steps as the views show them at ``moment``, and how many are done. ``all_done_at`` closes every
    step at that moment (a status forced to ready_for_pickup or picked_up)."""
    out, done = [], 0
    for step in timeline["steps"]:
        finish = step["finish"] if all_done_at is None else min(step["finish"], all_done_at)
        start = min(step["start"], finish)
        now = moment if all_done_at is None else max(moment, all_done_at)
        if now >= finish:
            done += 1
            state, light = "done", light_at(step, finish)
        elif now >= start:
            state, light = "active", light_at(step, now)
        else:
            state, light = "waiting", Light.GREEN.value  # its whole limit still remains
        out.append({"code": step["code"], "name": step["name"], "state": state,
                    "started_at": _stamp(start) if state != "waiting" else None,
                    "finished_at": _stamp(finish) if state == "done" else None,
                    "limit_days": step["limit_days"], "light": light,
                    "due_at": _stamp(step["due"]) if state != "waiting" else None})
    return out, done


def case_state(row: Any, moment: float) -> tuple[str, list[dict]]:
    """(status, steps) of a stored case at a simulated moment, honouring a forced status."""
    timeline = json.loads(row["timeline"])
    forced = row["forced_status"]
    if forced:
        forced_at = datetime.fromisoformat(row["forced_at"]).timestamp()
        closes = forced in (CaseStatus.READY_FOR_PICKUP.value, CaseStatus.PICKED_UP.value)
        steps, _ = step_views(timeline, forced_at, all_done_at=forced_at if closes else None)
        return forced, steps
    steps, done = step_views(timeline, moment)
    return status_after(done, len(steps)), steps


def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张* (the project's one masking rule): first character, stars, and the last
    character only when at least three are there."""
    name = (name or "").strip()
    if len(name) < 2:
        return name
    tail = name[-1] if len(name) > 2 else ""
    return name[0] + "*" * (len(name) - 1 - len(tail)) + tail


def mask_phone(phone: str) -> str:
    """3+4: 138****0000."""
    phone = (phone or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


MATERIAL_STATES = {"shared": "shared", "scan": "received", "paper": "to_show"}


def pickup_window(row: Any, catalog: Catalog) -> int | None:
    windows = catalog.windows(catalog.rule(row["item_code"]).category)
    if not windows:
        return None
    return windows[int(hashlib.sha256(row["case_id"].encode()).hexdigest(), 16) % len(windows)]


def pickup_place(row: Any, catalog: Catalog, method: str, detail: str) -> str:
    """Where the result is picked up, masked as views show it (a mail address keeps its first characters)."""
    if method == "window":
        window = pickup_window(row, catalog)
        return f"{window}号窗口" if window is not None else ""
    if method == "village_point":
        code = detail.split(" ")[0]
        point = next((p for p in catalog.village_points if p.get("code") == code), None)
        return str(point.get("name")) if point else detail[:60]
    return (detail[:6] + "****") if detail else "邮寄"


def masked_view(row: Any, catalog: Catalog, moment: float) -> dict[str, Any]:
    """§11 masked view: never an ID number, phone or address."""
    status, steps = case_state(row, moment)
    envelope = json.loads(row["envelope"])
    method = (envelope.get("pickup") or {}).get("method", "window")
    return {"query_code": row["query_code"], "item_code": row["item_code"],
            "item_name": catalog.rule(row["item_code"]).name, "status": status, "steps": steps,
            "promised_by": row["promised_by"], "applicant_masked": mask_name(row["applicant_name"] or ""),
            "pickup": {"method": method, "window": pickup_window(row, catalog) if method == "window" else None,
                       "ready": status == CaseStatus.READY_FOR_PICKUP.value},
            "received_at": row["received_at"]}


def full_view(row: Any, catalog: Catalog, moment: float, conn: Any = None) -> dict[str, Any]:
    """§11 full view: the masked view plus case number, name, masked phone, materials, corrections; with
    ``conn`` also the requested corrections (补正) and the bundle (一件事一次办) the case belongs to."""
    from simulators.central import store

    view = masked_view(row, catalog, moment)
    envelope = json.loads(row["envelope"])
    pickup = envelope.get("pickup") or {}
    view["pickup"]["place"] = pickup_place(row, catalog, str(pickup.get("method", "window")),
                                           str(pickup.get("detail") or ""))
    names = {m.get("code"): m.get("name") for m in catalog.materials(row["item_code"], row["situation"])}
    materials = [{"code": m.get("code"), "name": names.get(m.get("code"), ""), "source": m.get("source"),
                  "state": MATERIAL_STATES.get(str(m.get("source")), "received")}
                 for m in envelope.get("materials", []) if isinstance(m, dict)]
    view.update(case_id=row["case_id"], case_no=row["case_no"],
                applicant={"name": row["applicant_name"], "phone": mask_phone(row["applicant_phone"] or "")},
                materials=materials, corrections=[], channel=row["channel"], agent_id=row["agent_id"],
                situation=row["situation"], department=catalog.department(row["item_code"]), site=row["site"])
    if conn is not None:
        view["corrections"] = store.open_corrections(conn, row["case_id"])
        view["bundle"] = store.bundle_of(conn, row["case_id"])
    return view
