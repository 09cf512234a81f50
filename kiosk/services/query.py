"""Follow a case (办件查询): by the notice's QR or a typed code (masked view, online or from the cache with
its age), and the card holder's own cases in full."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.masking import mask_name, mask_phone
from edge_sync.querycode import classify, format_query_code
from kiosk.ports import Offline
from kiosk.services import Context, ServiceError, applicant_of, require_card, require_session
from kiosk.services.evaluation import offer, visit_ref
from kiosk.services.notice import Notice, NoticeCase, NoticeStage
from kiosk.services.scan_reasons import reason_for
from kiosk.session import Session

STATUS_LABELS = {
    "received": "已接收", "accepted": "已受理", "correction_needed": "需要补正材料", "in_review": "审查中",
    "approved": "已办结（准予）", "certificate": "制证中", "ready_for_pickup": "可以领取",
    "picked_up": "已领取", "rejected": "不予受理／不予许可", "withdrawn": "已撤回",
}
LIGHT_LABELS = {"green": "正常", "yellow": "即将到期", "red": "已超期"}
STEP_STATE_LABELS = {"done": "已完成", "active": "办理中", "waiting": "未开始"}
FINISHED = frozenset({"approved", "certificate", "ready_for_pickup", "picked_up", "rejected"})
ACCEPTED = frozenset({"accepted", "in_review", "approved", "certificate", "ready_for_pickup", "picked_up"})
WITHDRAWABLE = frozenset({"received"})
OFFLINE_MESSAGE = "暂时连不上政务服务平台，也没有这件办件的本机记录。请稍后再查，或到窗口询问。"


def _step(raw: dict[str, Any]) -> dict[str, Any]:
    light = str(raw.get("light", ""))
    state = str(raw.get("state", ""))
    return {"name": str(raw.get("name", ""))[:60], "state": state,
            "state_label": STEP_STATE_LABELS.get(state, state),
            "started_at": raw.get("started_at"), "finished_at": raw.get("finished_at"),
            "limit_days": raw.get("limit_days"), "light": light, "light_label": LIGHT_LABELS.get(light, "")}


def masked_view(raw: dict[str, Any]) -> dict[str, Any]:
    """Only the fields of the contract's masked view (§11): whatever else central sends is dropped."""
    status = str(raw.get("status", ""))
    pickup = _obj(raw.get("pickup"))
    applicant = str(raw.get("applicant_masked", ""))
    if applicant and "*" not in applicant:
        applicant = mask_name(applicant)
    return {"item_name": str(raw.get("item_name", ""))[:120], "status": status,
            "status_label": STATUS_LABELS.get(status, status),
            "steps": [_step(s) for s in raw.get("steps", []) if isinstance(s, dict)],
            "promised_by": raw.get("promised_by"), "applicant_masked": applicant,
            "pickup": {"method": pickup.get("method"), "window": pickup.get("window"),
                       "ready": bool(pickup.get("ready"))},
            "finished": status in FINISHED}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _correction(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"code": None, "name": "", "note": str(raw)[:200]}
    return {"code": str(raw.get("code")) if raw.get("code") else None, "name": str(raw.get("name", ""))[:120],
            "note": str(raw.get("note", ""))[:200]}


def actions(view: dict[str, Any]) -> dict[str, bool]:
    """What the person (card holder or agent) may do from a case's progress view: 催办 (prominent while a
    step runs yellow or red), 投诉, 撤回 before acceptance, 补正 when asked, print the 受理通知书 once accepted."""
    status = view.get("status")
    late = any(s.get("state") == "active" and s.get("light") in ("yellow", "red") for s in view.get("steps", []))
    open_case = status not in ("picked_up", "rejected", "withdrawn")
    return {"urge": open_case, "urge_prominent": open_case and late, "complain": True,
            "withdraw": status in WITHDRAWABLE, "correct": status == "correction_needed",
            "print_acceptance": status in ACCEPTED}


def full_view(raw: dict[str, Any]) -> dict[str, Any]:
    """The full view for the card holder or an agent: masked view + case number, masked phone, materials,
    requested corrections, and what may be done from it."""
    view = masked_view(raw)
    applicant = _obj(raw.get("applicant"))
    phone = str(applicant.get("phone", ""))
    pickup = _obj(raw.get("pickup"))
    view["pickup"]["place"] = str(pickup.get("place", ""))[:120] or None
    view.update({
        "case_no": raw.get("case_no"), "query_code": raw.get("query_code"),
        "applicant": {"name": mask_name(str(applicant.get("name", ""))),
                      "phone": phone if "*" in phone else mask_phone(phone)},
        "materials": [{"code": m.get("code"), "name": m.get("name"), "state": m.get("state")}
                      for m in raw.get("materials", []) if isinstance(m, dict)],
        "corrections": [_correction(c) for c in raw.get("corrections", []) if c][:30],
        "agent_id": raw.get("agent_id") if isinstance(raw.get("agent_id"), str) else None,
        "item_code": raw.get("item_code") if isinstance(raw.get("item_code"), str) else None,
    })
    if view["query_code"]:
        view["query_code_display"] = format_query_code(str(view["query_code"]))
    view["actions"] = actions(view)
    return view


LOCAL_STATUS = {NoticeStage.ACCEPTED: ("submitted", "已提交，平台已受理"),
                NoticeStage.PRE_REVIEW: ("submitted", "已提交，待窗口核验原件"),
                NoticeStage.PENDING: ("pending", "已提交，待平台确认")}


def local_view(notice: Notice, case: NoticeCase) -> dict[str, Any]:
    """A case this terminal submitted that central has not listed yet, in the words of its printed notice
    (a view of the same typed value)."""
    status, label = LOCAL_STATUS[case.stage]
    return {"item_name": case.item_name, "status": status, "status_label": label, "steps": [],
            "promised_by": case.promised_by if case.promised_text() else None,
            "applicant_masked": notice.applicant_masked,
            "pickup": {"method": case.pickup.method, "window": None, "ready": False, "place": case.pickup.place},
            "finished": False, "case_no": case.case_no, "query_code": case.query_code,
            "query_code_display": case.query_code_display, "local": True,
            "actions": actions({"status": "received" if case.stage is NoticeStage.PRE_REVIEW else status,
                                "steps": []})}


class QueryService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Notices printed here for the session's card holder (SubmitService's archive, wired by the bundle).
        self.local_notices: Callable[[Session], list[Notice]] = lambda session: []

    def parse(self, text: str) -> str:
        """Canonical query code of a scan or typed text. Raises ServiceError("not_receipt") otherwise:
        such a text never leaves the terminal."""
        result = classify(text)
        if result.code is None:
            raise ServiceError("not_receipt", reason_for(result.cause), 400)
        return result.code

    def by_code(self, text: str) -> dict[str, Any]:
        code = self.parse(text)
        sync = self.ctx.require_sync()
        found = sync.query_case(code, timeout=self.ctx.settings.request_timeout_s)
        if isinstance(found, Offline):
            raise ServiceError("offline", OFFLINE_MESSAGE, 503)
        if not found.found or found.view is None:
            return {"found": False, "query_code": code, "query_code_display": format_query_code(code),
                    "message": "没有查到这件办件。请核对查询码；刚提交的办件可能要过几分钟才能查到。"}
        case = masked_view(found.view)
        case["actions"] = actions(case)  # offered here; the card (or agent) is asked for when one is chosen
        session = require_session(self.ctx)
        visit = offer(session, "visit", visit_ref(self.ctx, session), f"查询：{case['item_name']}")
        return {"found": True, "query_code": code, "query_code_display": format_query_code(code),
                "cached": found.cached, "age_s": found.age_s, "case": case, "evaluation": visit}

    def my_cases(self) -> dict[str, Any]:
        """The card holder's cases in full, newest first: from central; offline the list last seen here
        (``cached`` with ``age_s``). Cases submitted here that the list lacks yet are added as their printed
        notice says them (待平台确认). Raises ServiceError (no card; offline with nothing known here)."""
        session = require_card(self.ctx)
        sync = self.ctx.require_sync()
        found = sync.list_cases(applicant_of(session.card), timeout=self.ctx.settings.request_timeout_s)
        local = self.local_notices(session)
        if isinstance(found, Offline) and not local:
            raise ServiceError("offline", "暂时连不上政务服务平台，查不到您的办件列表。"
                               "可以扫描受理通知书上的二维码查询。", 503)
        cases = [] if isinstance(found, Offline) else [full_view(c) for c in found.cases]
        listed = {c.get("query_code") for c in cases}
        cases += [local_view(n, c) for n in local for c in n.cases if c.query_code not in listed]
        offers = [offer(session, "case", str(c["query_code"]), str(c["item_name"])) for c in cases
                  if c["finished"] and c.get("query_code")]
        return {"cases": cases, "offline": isinstance(found, Offline) or found.cached,
                "cached": not isinstance(found, Offline) and found.cached,
                "age_s": None if isinstance(found, Offline) else found.age_s, "evaluation": offers}
