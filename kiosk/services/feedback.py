"""Evaluation (满意度评价: score 1–5, tags, comment ≤ 200 characters) and the help call (呼叫工作人员);
both are durable events through edge_sync, so they reach central even when sent offline."""
from __future__ import annotations

import collections
import logging
import time
from typing import Any

from drivers.scanner.receipt_code import parse_receipt_code
from kiosk.services import Context, ServiceError, clean_text

log = logging.getLogger(__name__)
HELP_LIMIT = 3            # help calls sent per window; more are answered without another event
HELP_WINDOW_S = 60.0
TAGS = ("办事快", "态度好", "材料少", "指引清楚", "等候久", "材料多", "跑了多次", "设备不好用")


class FeedbackService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._calls: collections.deque[float] = collections.deque()

    def evaluate(self, query_code: str, score: int, tags: list[str], comment: str = "") -> dict[str, Any]:
        """Raises ServiceError for an out-of-range score or an unknown query code."""
        try:
            score = int(score)
        except (TypeError, ValueError):
            score = 0
        if not 1 <= score <= 5:
            raise ServiceError("bad_score", "请点选 1 到 5 颗星。", 400)
        code = parse_receipt_code(query_code or "")
        if code is None:
            raise ServiceError("bad_request", "请先查询办件，再进行评价。", 400)
        fields = {"query_code": code, "score": score,
                  "tags": [t for t in dict.fromkeys(tags or []) if t in TAGS],
                  "comment": clean_text(comment, 200)}
        self.ctx.require_sync().send_event("evaluation", fields)
        return {"ok": True, "message": "感谢您的评价！"}

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

    @staticmethod
    def tags() -> list[str]:
        return list(TAGS)
