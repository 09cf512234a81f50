"""Queue tickets (取号): a window category; the green channel (绿色通道, 一号多件) only for a project agent
central registered for it, identified by card and PIN, within the number of cases central allows. The
ticket comes from central, is printed, announced with ``ticket.issued`` and may be evaluated."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kiosk.ports import PrintFailed, Reply, StorageFull
from kiosk.receipts.data import TicketData
from kiosk.services import Context, ServiceError, require_session
from kiosk.services.agent import AgentService
from kiosk.services.consult import print_message
from kiosk.services.evaluation import offer
from kiosk.session import Role

MAX_CASES = 20
GREEN_ONLY = "绿色通道只供平台登记的项目代办员使用，请先用代办员身份证和密码登录。"


class QueueService:
    def __init__(self, ctx: Context, agent: AgentService) -> None:
        self.ctx = ctx
        self.agent = agent

    def options(self) -> dict[str, Any]:
        """What the ticket screen offers: the green channel is listed only for a registered agent."""
        profile = self.agent.profile()
        green = profile is not None and profile.green_channel
        return {"green": {"offered": green, "max_cases": profile.green_max_cases if green and profile else 0}}

    def take(self, category: str, green: bool = False, cases: int = 1, agent_id: str = "") -> dict[str, Any]:
        """Take a number. Raises ServiceError when central cannot be reached (numbers come from the hall's
        queue system), the request is invalid, or the green channel is not this person's to use.
        ``agent_id`` is ignored: the agent is the one logged in with card and PIN."""
        session = require_session(self.ctx)
        catalog = self.ctx.catalog()
        if category not in catalog.categories:
            raise ServiceError("bad_request", "请选择要去的窗口类别。", 400)
        if not 1 <= int(cases) <= MAX_CASES:
            raise ServiceError("bad_request", f"一次取号最多办理 {MAX_CASES} 件。", 400)
        login = session.agent if session.role is Role.AGENT else None
        if green:
            profile = self.agent.profile()
            if login is None or profile is None or not profile.green_channel:
                raise ServiceError("green_not_registered", GREEN_ONLY, 403)
            if not 2 <= int(cases) <= profile.green_max_cases:
                raise ServiceError("green_cases", f"绿色通道“一号多件”须办理 2 到 {profile.green_max_cases} 件，"
                                   "请核对件数。", 400)
        sync = self.ctx.require_sync()
        agent = login.agent_id if login is not None else None
        reply = sync.request("queue.take", {"category": category, "priority": "green" if green else "normal",
                                            "agent_id": agent, "cases": int(cases)},
                             timeout=self.ctx.settings.request_timeout_s)
        if not isinstance(reply, Reply) or not reply.fields.get("number"):
            if isinstance(reply, Reply) and reply.fields.get("error") == "green_not_registered":
                raise ServiceError("green_not_registered", "平台没有为您登记绿色通道，请到服务台咨询。", 403)
            raise ServiceError("offline", "暂时取不到号，请到服务台请工作人员帮您取号。", 503)
        cat = catalog.categories[category]
        number = str(reply.fields["number"])[:10]
        waiting = reply.fields.get("waiting")
        hint = reply.fields.get("window_hint")
        now = self.ctx.trusted_now()
        ticket = TicketData(number=number, category_name=cat.name,
                            waiting=waiting if isinstance(waiting, int) and not isinstance(waiting, bool) else None,
                            green=green, cases=int(cases), floor=cat.floor,
                            window_hint=str(hint)[:40] if hint else None, site_name=self.ctx.settings.site_name,
                            issued_at=now.strftime("%Y-%m-%d %H:%M") if now else None)
        try:
            sync.send_event("ticket.issued", {"number": number, "category": category,
                                              "priority": "green" if green else "normal", "agent_id": agent})
        except StorageFull:
            pass  # the ticket is taken at central already; its announcement is the part that waits
        day = (now or self.ctx.wall_clock()).date().isoformat()
        result: dict[str, Any] = {"ticket": {**asdict(ticket), "category": category}, "printed": False,
                                  "evaluation": offer(session, "ticket", f"{self.ctx.settings.site_id}:{day}:"
                                                      f"{category}:{number}", f"取号 {number}")}
        result.update(self._print(ticket))
        return result

    def _print(self, ticket: TicketData) -> dict[str, Any]:
        devices = self.ctx.devices
        if devices.receipts is None or devices.printer is None:
            return {"print_message": "请记住您的号码。"}
        try:
            devices.print(devices.receipts.queue_ticket(ticket))
        except PrintFailed as exc:
            self.ctx.audit("kiosk", "print", f"ticket {ticket.number} failed: {exc.code}")
            # The number is taken either way: show it big on screen instead.
            return {"print_message": print_message(exc.code) + " 请记住屏幕上的号码。"}
        self.ctx.audit("kiosk", "print", f"ticket {ticket.number}")
        return {"printed": True}
