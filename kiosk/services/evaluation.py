"""政务服务"好差评": after every completed service (a case submitted or followed, a queue ticket, a query
visit) the page is offered an evaluation of it; five national levels, a reason from a list for the two
lowest, optional words and an optional call-back (回访). One evaluation per service: refused here when
this terminal has one, and by central whatever terminal it comes from. Sent as a durable
``service.evaluation`` event (contract addendum), so an evaluation given offline reaches central later."""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from drivers.masking import mask_phone
from edge_sync.service_models import (
    BAD_REASONS,
    LEVEL_NAMES,
    SERVICE_KINDS,
    Callback,
    EvaluationBody,
    Level,
    ServiceRef,
)
from kiosk.ports import StorageFull
from kiosk.services import Context, ServiceError, clean_text, require_session
from kiosk.services.records import ServiceRecords
from kiosk.session import Role, Session

log = logging.getLogger(__name__)
OFFERS = "eval:offers"  # session.flow key (not "card:": the offer outlives the card in the reader)
VISIT = "eval:visit"
PHONE = re.compile(r"1[3-9][0-9]{9}")
KIND_WORDS = {"case": "这件办件", "ticket": "这次取号", "visit": "这次查询"}


@dataclass(frozen=True)
class Offer:
    """A service the person at the screen may evaluate; ``holder`` is the card holder it was offered to
    (None without a card): another card in the reader does not get it."""

    kind: str
    ref: str
    title: str
    holder: str | None

    def view(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "title": self.title}

    def open_to(self, session: Session) -> bool:
        return self.holder is None or (session.card is not None and session.card.id_number == self.holder)


def offer(session: Session, kind: str, ref: str, title: str) -> dict[str, Any]:
    """Record that ``session`` may evaluate this service now; the page gets this offer in the result."""
    offers: dict[str, Offer] = session.flow.setdefault(OFFERS, {})
    made = Offer(kind, ref, title[:60], session.card.id_number if session.card is not None else None)
    offers[f"{kind}:{ref}"] = made
    return made.view()


def visit_ref(ctx: Context, session: Session) -> str:
    """The session's query visit (one per person at the screen): this device and a fresh id."""
    ref: str = session.flow.setdefault(VISIT, f"{ctx.settings.device_id}:{uuid.uuid4().hex[:16]}")
    return ref


class EvaluationService:
    def __init__(self, ctx: Context, records: ServiceRecords) -> None:
        self.ctx = ctx
        self.records = records

    @staticmethod
    def options() -> dict[str, Any]:
        return {"levels": [{"level": int(level), "name": name, "needs_reason": level.needs_reason}
                           for level, name in LEVEL_NAMES.items()],
                "reasons": [{"code": code, "text": text} for code, text in BAD_REASONS.items()]}

    def offers(self) -> dict[str, Any]:
        session = require_session(self.ctx)
        return {"offers": [o.view() for o in session.flow.get(OFFERS, {}).values()
                           if o.open_to(session) and not self.records.evaluated(o.kind, o.ref)]}

    def evaluate(self, kind: str, ref: str, level: int, reasons: list[str], comment: str = "",
                 callback: bool = False, phone: str = "") -> dict[str, Any]:
        """Raises ServiceError: not offered in this session, already evaluated, level out of range, no
        reason for a low level, a call-back without a valid phone, storage full."""
        session = require_session(self.ctx)
        made = session.flow.get(OFFERS, {}).get(f"{kind}:{ref}")
        if kind not in SERVICE_KINDS or not isinstance(made, Offer) or not made.open_to(session):
            raise ServiceError("not_offered", "请在办完事后再评价这次服务。", 409)
        try:
            chosen = Level(int(level))
        except ValueError:
            raise ServiceError("bad_level", "请从“非常满意”到“非常不满意”中选一项。", 400) from None
        reasons = list(dict.fromkeys(r for r in reasons if isinstance(r, str)))
        if chosen.needs_reason and not [r for r in reasons if r in BAD_REASONS]:
            raise ServiceError("reason_needed", f"选择“{chosen.label}”时，请选择不满意的原因。", 400)
        phone = re.sub(r"[\s-]", "", phone or "")
        if callback and not PHONE.fullmatch(phone):
            raise ServiceError("bad_phone", "需要回访时请留下 11 位手机号码。", 400)
        agent = session.agent if session.role is Role.AGENT else None
        now = self.ctx.wall_clock()
        try:
            body = EvaluationBody(service=ServiceRef.model_validate({"kind": kind, "ref": ref}), level=chosen,
                                  level_name=chosen.label,
                                  reasons=[r for r in reasons if r in BAD_REASONS] if chosen.needs_reason else [],
                                  comment=clean_text(comment, 200),
                                  callback=Callback(consent=True, phone=phone) if callback else Callback(),
                                  channel="agent" if agent else "self", agent_id=agent.agent_id if agent else None,
                                  site=self.ctx.settings.site_id, evaluated_at=now.isoformat(timespec="seconds"))
        except ValidationError:
            raise ServiceError("bad_request", "评价内容有误，请重新选择。", 400) from None
        if not self.records.mark_evaluated(kind, ref):
            what = KIND_WORDS.get(kind, "这次服务")
            raise ServiceError("already_evaluated", f"{what}已经评价过了，每项服务只能评价一次。", 409)
        try:
            self.ctx.require_sync().send_event(body.type, body.fields())
        except (ServiceError, StorageFull):
            self.records.forget_evaluation(kind, ref)
            raise ServiceError("not_sent", "评价暂时不能保存，请稍后再评，或拨打热线评价。", 503) from None
        session.flow.get(OFFERS, {}).pop(f"{kind}:{ref}", None)
        log.info("evaluation of a %s given: level %d", kind, int(chosen))
        thanks = "感谢您的评价！" + ("工作人员会尽快与您联系。" if callback else "")
        return {"ok": True, "message": thanks, "level": int(chosen), "level_name": chosen.label,
                "callback_phone": mask_phone(phone) if callback else None}
