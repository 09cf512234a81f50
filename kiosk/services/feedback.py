"""The help call (呼叫工作人员): a durable event through edge_sync, so it reaches central even when sent
offline, and the IO board's buzzer. (The evaluation, 好差评, is `kiosk.services.evaluation`.)"""
from __future__ import annotations

import collections
import logging
import time
from typing import Any

from kiosk.services import Context, ServiceError

log = logging.getLogger(__name__)
HELP_LIMIT = 3            # help calls sent per window; more are answered without another event
HELP_WINDOW_S = 60.0


class FeedbackService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._calls: collections.deque[float] = collections.deque()

    def help(self, source: str = "screen") -> dict[str, Any]:
        """Call staff: the IO board buzzes locally, then the event goes to central (a safety record: it
        is taken even when storage is over its budget). Calls beyond ``HELP_LIMIT`` a minute (a child
        at the button) are answered without another event."""
        now = time.monotonic()
        while self._calls and now - self._calls[0] > HELP_WINDOW_S:
            self._calls.popleft()
        if len(self._calls) >= HELP_LIMIT:
            return {"ok": True, "limited": True, "message": "已经通知工作人员了，请稍候，工作人员马上过来。"}
        self._calls.append(now)
        buzzed = False
        io = self.ctx.devices.ioboard
        if io is not None:
            try:
                io.buzz("double")
                buzzed = True
            except Exception as exc:  # optional hardware
                log.warning("help buzzer failed: %s", exc)
        if self.ctx.sync is not None:
            try:
                self.ctx.sync.send_event("help.requested", {"source": source if source in ("screen", "button")
                                                            else "screen"})
            except Exception as exc:   # the disk is full beyond the reserve: say what was done
                log.error("help call not stored: %s", type(exc).__name__)
                if not buzzed:
                    raise ServiceError("help_failed", "呼叫没有发出，请直接到服务台找工作人员。", 503) from None
        return {"ok": True, "message": "已通知工作人员，请稍候，工作人员马上过来。"}
