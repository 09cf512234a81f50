"""Queue tickets (取号): a window category, optional green channel (绿色通道) for project agents with
several cases (一号多件); the ticket comes from central and is printed."""
from __future__ import annotations

import re
from typing import Any

from kiosk.ports import PrintFailed, Reply
from kiosk.services import Context, ServiceError, require_session
from kiosk.services.consult import print_message
from kiosk.session import Role

AGENT_ID = re.compile(r"AG-[0-9]{4,8}")


class QueueService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def take(self, category: str, green: bool = False, cases: int = 1, agent_id: str = "") -> dict[str, Any]:
        """Take a number. Raises ServiceError when central cannot be reached (numbers come from the hall's
        queue system) or the request is invalid."""
        session = require_session(self.ctx)
        catalog = self.ctx.catalog()
        if category not in catalog.categories:
            raise ServiceError("bad_request", "请选择要去的窗口类别。", 400)
        if not 1 <= int(cases) <= 20:
            raise ServiceError("bad_request", "一次取号最多办理 20 件。", 400)
        if session.role is Role.AGENT and session.agent is not None:
            agent_id = session.agent.agent_id
        agent_id = agent_id.strip().upper()
        if agent_id.isdigit():
            agent_id = f"AG-{agent_id.zfill(4)}"
        if green and not AGENT_ID.fullmatch(agent_id):
            raise ServiceError("green_needs_agent", "绿色通道供登记的项目代办员使用，请输入代办员工号。", 400)
        sync = self.ctx.require_sync()
        reply = sync.request("queue.take", {"category": category, "priority": "green" if green else "normal",
                                            "agent_id": agent_id or None, "cases": int(cases)},
                             timeout=self.ctx.settings.request_timeout_s)
        if not isinstance(reply, Reply) or not reply.fields.get("number"):
            raise ServiceError("offline", "暂时取不到号，请到服务台请工作人员帮您取号。", 503)
        cat = catalog.categories[category]
        ticket = {"number": str(reply.fields["number"])[:10], "waiting": reply.fields.get("waiting"),
                  "window_hint": reply.fields.get("window_hint"), "category": category,
                  "category_name": cat.name, "floor": cat.floor, "green": green, "cases": int(cases),
                  "site_name": self.ctx.settings.site_name, "issued_at": self._now_text()}
        result: dict[str, Any] = {"ticket": ticket, "printed": False}
        devices = self.ctx.devices
        if devices.receipts is None or devices.printer is None:
            result["print_message"] = "请记住您的号码。"
            return result
        try:
            devices.print(devices.receipts.queue_ticket(ticket))
            result["printed"] = True
            self.ctx.audit("kiosk", "print", f"ticket {ticket['number']}")
        except PrintFailed as exc:
            self.ctx.audit("kiosk", "print", f"ticket {ticket['number']} failed: {exc.code}")
            # The number is taken either way: show it big on screen instead.
            result["print_message"] = print_message(exc.code) + " 请记住屏幕上的号码。"
        return result

    def _now_text(self) -> str | None:
        now = self.ctx.trusted_now()
        return now.strftime("%Y-%m-%d %H:%M") if now else None
