"""Pickup check (取件核验): the notice's code and the applicant's ID card → "ready, go to window N" or why not."""
from __future__ import annotations

from typing import Any

from kiosk.ports import Reply
from kiosk.services import Context, ServiceError, applicant_of, require_card
from kiosk.services.evaluation import offer
from kiosk.services.query import QueryService

RESULTS = {
    "ok": "可以领取了，请到 {window} 号窗口领取。",
    "not_ready": "证件还没有办好，暂时不能领取。可以扫描受理通知书查看进度。",
    "mismatch": "身份证与申请人不一致。请申请人本人带身份证来领取，或让代领人到窗口办理。",
    "not_found": "没有找到这件办件，请核对受理通知书，或到窗口询问。",
}


class PickupService:
    def __init__(self, ctx: Context, query: QueryService) -> None:
        self.ctx = ctx
        self.query = query

    def verify(self, text: str) -> dict[str, Any]:
        """Raises ServiceError for a bad code, no card, or when central cannot be asked."""
        code = self.query.parse(text)
        session = require_card(self.ctx)
        sync = self.ctx.require_sync()
        reply = sync.request("pickup.verify", {"query_code": code, "applicant": applicant_of(session.card)},
                             timeout=self.ctx.settings.request_timeout_s)
        if not isinstance(reply, Reply):
            raise ServiceError("offline", "暂时连不上平台，无法核验。请带受理通知书和身份证到窗口领取。", 503)
        result = str(reply.fields.get("result", "not_found"))
        if result not in RESULTS:
            result = "not_found"
        window = reply.fields.get("window")
        out = {"result": result, "window": window,
               "message": RESULTS[result].format(window=window if window is not None else "取件")}
        if result == "ok":  # the holder is proven: the case itself may be evaluated
            out["evaluation"] = offer(session, "case", code, "取件")
        return out
