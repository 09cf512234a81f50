"""What a person does with a case from its progress view: 催办 (urge) and 投诉 (complaint) with a receipt
number from central, the hotline and a printable slip; 撤回 (withdraw) while central has not accepted it;
and the 受理通知书 once central has accepted a case that was pre-reviewed. The applicant acts with the card
in the reader, a village agent for their residents with central's day token."""
from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from drivers.masking import mask_name
from edge_sync.service_models import (
    Callback,
    ComplaintReceipt,
    ComplaintRequest,
    Proof,
    WithdrawRequest,
    WithdrawResult,
)
from kiosk.catalog import Catalog
from kiosk.ports import CaseLookup, PrintFailed, Reply
from kiosk.receipts.data import ComplaintData
from kiosk.services import (
    Context,
    ServiceError,
    actor_of,
    applicant_of,
    clean_text,
    require_card,
    require_session,
)
from kiosk.services.agent import AgentService, token_of
from kiosk.services.commit import Committer
from kiosk.services.consult import print_message
from kiosk.services.notice import Notice, NoticeCase, NoticeStage, PickupPlace
from kiosk.services.query import ACCEPTED, QueryService
from kiosk.session import Role, Session

log = logging.getLogger(__name__)
CATEGORIES = {
    "urge": {"progress": "催促办理进度"},
    "complaint": {"slow": "办理超时、进度慢", "attitude": "服务态度", "materials": "材料要求不合理",
                  "fees": "违规收费", "unclear": "告知不清、来回跑", "other": "其他"},
}
WITHDRAW_MESSAGES = {
    "withdrawn": "已撤回。这件申请不再办理；需要时可以重新申请。",
    "not_allowed": "这件申请已经受理，不能在终端撤回。如需撤回，请带身份证到窗口办理。",
    "not_found": "没有找到这件办件，请核对查询码。",
    "mismatch": "只有申请人本人（或为其代办的代办员）才能撤回。",
    "bad_token": "代办员登录已过期，请重新登录。",
    "invalid": "撤回请求有误，请到窗口办理。",
}
OFFLINE = "暂时连不上政务服务平台。请稍后再试，或拨打 {hotline}。"
# The slips of this card holder's (or agent's) 催办/投诉 in this session, by receipt number: the 打印回执
# button prints one again. A "card:" key: it goes with the card holder.
SLIPS = "card:complaint-slips"


def proof_of(ctx: Context) -> tuple[Session, Proof]:
    """The acting person's proof: a logged-in agent's day token, else the card in the reader."""
    session = ctx.sessions.current
    if session is not None and session.role is Role.AGENT and session.agent is not None:
        return session, Proof(agent_id=session.agent.agent_id, token=token_of(session.agent))
    session = require_card(ctx)
    return session, Proof(applicant=applicant_of(session.card))


class CaseworkService:
    def __init__(self, ctx: Context, query: QueryService, agent: AgentService, committer: Committer) -> None:
        self.ctx = ctx
        self.query = query
        self.agent = agent
        self.committer = committer

    @staticmethod
    def categories() -> dict[str, Any]:
        return {kind: [{"code": c, "text": t} for c, t in cats.items()] for kind, cats in CATEGORIES.items()}

    def case_view(self, code: str) -> dict[str, Any]:
        """The actor's full view of a case: the card holder's own, or one of the agent's village points."""
        session = self.ctx.sessions.current
        if session is not None and session.role is Role.AGENT and session.agent is not None:
            found = [c["case"] for c in self.agent.village_cases()["cases"] if c.get("query_code") == code]
        else:
            found = [c for c in self.query.my_cases()["cases"] if c.get("query_code") == code]
        if not found or not isinstance(found[0], dict):
            raise ServiceError("not_found", "在您的办件中没有找到这件办件，请核对查询码，或放上申请人的身份证。", 404)
        return found[0]

    def file(self, text_code: str, kind: str, category: str, text: str = "", callback: bool = False,
             phone: str = "") -> dict[str, Any]:
        """催办 or 投诉 about a case. Raises ServiceError (bad category, no card/agent, offline, refused)."""
        code = self.query.parse(text_code)
        if category not in CATEGORIES.get(kind, {}):
            raise ServiceError("bad_category", "请选择催办或投诉的类别。", 400)
        session, proof = proof_of(self.ctx)
        sync = self.ctx.require_sync()
        hotline = self.ctx.settings.hotline
        try:
            body = ComplaintRequest.model_validate({
                "kind": kind, "query_code": code, "by": proof, "category": category, "text": clean_text(text, 300),
                "callback": Callback(consent=True, phone=phone) if callback else Callback()})
        except ValidationError:
            raise ServiceError("bad_phone", "需要回访时请留下 11 位手机号码。", 400) from None
        reply = sync.request(body.type, body.fields(), timeout=self.ctx.settings.request_timeout_s)
        if not isinstance(reply, Reply):
            raise ServiceError("offline", OFFLINE.format(hotline=hotline), 503)
        try:
            receipt = ComplaintReceipt.model_validate(reply.fields)
        except ValidationError:
            raise ServiceError("offline", OFFLINE.format(hotline=hotline), 502) from None
        if not receipt.ok or receipt.receipt_no is None or receipt.received_at is None:
            if receipt.error in ("not_found", "mismatch"):
                raise ServiceError(receipt.error, "只能为自己的（或为其代办的）办件催办、投诉，请核对查询码。", 403)
            raise ServiceError("refused", f"平台暂时没有接收，请拨打 {hotline}。", 409)
        self.ctx.audit(actor_of(session), "case.complaint" if kind == "complaint" else "case.urge", receipt.receipt_no)
        # The slip names the case's item: its masked view (or the cached one), never waiting long for it.
        found = sync.query_case(code, timeout=min(1.0, self.ctx.settings.request_timeout_s))
        item_name = str(found.view.get("item_name", "")) if isinstance(found, CaseLookup) and found.view else ""
        slip = ComplaintData(kind=kind, receipt_no=receipt.receipt_no, query_code=code, item_name=item_name,
                             category=CATEGORIES[kind][category], received_at=receipt.received_at,
                             reply_within_days=receipt.reply_within_days, hotline=receipt.hotline or hotline,
                             site_name=self.ctx.settings.site_name)
        slips = session.flow.setdefault(SLIPS, {})
        if isinstance(slips, dict):
            slips[receipt.receipt_no] = slip
        return {"receipt_no": receipt.receipt_no, "kind": kind, "received_at": receipt.received_at,
                "reply_within_days": receipt.reply_within_days, "hotline": slip.hotline,
                "message": f"已收到您的{'催办' if kind == 'urge' else '投诉'}，回执编号 {receipt.receipt_no}。",
                **self._print(slip)}

    def print_slip(self, receipt_no: str) -> dict[str, Any]:
        """Print the slip of a 催办/投诉 filed in this session again. Raises ServiceError (not filed here)."""
        slips = require_session(self.ctx).flow.get(SLIPS)
        slip = slips.get(receipt_no) if isinstance(slips, dict) else None
        if not isinstance(slip, ComplaintData):
            raise ServiceError("not_found", "没有找到这张回执，请记下回执编号，或拨打热线查询。", 404)
        return self._print(slip)

    def _print(self, slip: ComplaintData) -> dict[str, Any]:
        devices = self.ctx.devices
        try:
            if devices.receipts is None:
                raise PrintFailed("no_printer")
            devices.print(devices.receipts.complaint_slip(slip))
        except PrintFailed as exc:
            self.ctx.audit("kiosk", "print", f"complaint {slip.receipt_no} failed: {exc.code}")
            return {"printed": False, "print_message": print_message(exc.code) + " 请记下回执编号。"}
        self.ctx.audit("kiosk", "print", f"complaint {slip.receipt_no}")
        return {"printed": True}

    def withdraw(self, text_code: str, reason: str = "") -> dict[str, Any]:
        """撤回 a case central has not accepted yet. Raises ServiceError (offline, no card/agent)."""
        code = self.query.parse(text_code)
        session, proof = proof_of(self.ctx)
        sync = self.ctx.require_sync()
        body = WithdrawRequest(query_code=code, by=proof, reason=clean_text(reason, 100))
        reply = sync.request(body.type, body.fields(), timeout=self.ctx.settings.request_timeout_s)
        if not isinstance(reply, Reply):
            raise ServiceError("offline", "暂时连不上政务服务平台，现在不能撤回。请稍后再试，或到窗口办理。", 503)
        try:
            result = WithdrawResult.model_validate(reply.fields)
        except ValidationError:
            raise ServiceError("offline", "平台的答复有误，现在不能撤回，请到窗口办理。", 502) from None
        if result.ok:
            self.ctx.audit(actor_of(session), "case.withdraw", code)
        return {"ok": result.ok, "result": result.result, "status": result.status,
                "message": WITHDRAW_MESSAGES[result.result]}

    def print_acceptance(self, text_code: str) -> dict[str, Any]:
        """The 受理通知书 of a case central has accepted (after its pre-review at the window)."""
        code = self.query.parse(text_code)
        view = self.case_view(code)
        if view.get("status") not in ACCEPTED:
            raise ServiceError("not_accepted", "这件申请还没有受理，暂时不能打印受理通知书。", 409)
        notice = acceptance_from_view(self.ctx.catalog(), view, self.ctx)
        printed, error = self.committer.print_notice(notice)
        out: dict[str, Any] = {"printed": printed, "notice": notice.page_view()}
        if error:
            out.update(print_error=error, print_message=print_message(error))
        return out


def acceptance_from_view(catalog: Catalog, view: dict[str, Any], ctx: Context) -> Notice:
    """A 受理通知书 from central's full view of an accepted case (masked fields only)."""
    item = catalog.item(str(view.get("item_code") or ""))
    situation = item.situation(str(view.get("situation") or "")) if item else None
    pickup = view.get("pickup") or {}
    originals = tuple(str(m.get("name")) for m in view.get("materials", []) if m.get("state") == "to_show" and
                      m.get("name"))
    case = NoticeCase(item_code=item.code if item else str(view.get("item_code") or ""),
                      item_name=str(view.get("item_name", "")), situation_name=situation.name if situation else "",
                      authority=catalog.departments.get(item.department, item.department) if item else "",
                      query_code=str(view["query_code"]), case_no=str(view.get("case_no") or "") or None,
                      stage=NoticeStage.ACCEPTED, promised_days=item.promised_days if item else 0,
                      promised_by=str(view.get("promised_by") or "") or None, originals=originals,
                      pickup=PickupPlace(str(pickup.get("method") or "window"), str(pickup.get("place") or "")))
    applicant = view.get("applicant") or {}
    return Notice(cases=(case,), applicant_masked=mask_name(str(applicant.get("name") or view.get(
        "applicant_masked") or "")), site_name=ctx.settings.site_name, hotline=ctx.settings.hotline,
        submitted_at=_minute(view.get("received_at")), channel=str(view.get("channel") or "self"))


def _minute(stamp: Any) -> str | None:
    """「2026-11-24 10:00」 from an RFC 3339 time."""
    text = str(stamp or "")
    return f"{text[:10]} {text[11:16]}" if len(text) >= 16 else None
