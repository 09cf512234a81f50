"""The help call (呼叫工作人员): a durable event through edge_sync, so it reaches central even when sent
offline, and the IO board's buzzer. (The evaluation, 好差评, is `kiosk.services.evaluation`.)"""
from __future__ import annotations

import logging
from typing import Any

from kiosk.services import Context

log = logging.getLogger(__name__)


class FeedbackService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def help(self, source: str = "screen") -> dict[str, Any]:
        """Call staff: the event goes to central and the IO board buzzes locally."""
        if self.ctx.sync is not None:
            self.ctx.sync.send_event("help.requested", {"source": source if source in ("screen", "button")
                                                        else "screen"})
        io = self.ctx.devices.ioboard
        if io is not None:
            try:
                io.buzz("double")
            except Exception as exc:  # optional hardware
                log.warning("help buzzer failed: %s", exc)
        return {"ok": True, "message": "已通知工作人员，请稍候，工作人员马上过来。"}
