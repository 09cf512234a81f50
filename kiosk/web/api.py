"""JSON API of the local UI: one small handler per flow action, each running its (blocking) service
call off the event loop and answering ServiceError as ``{"error": code, "message": 中文}``."""
from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kiosk.catalog import CatalogError
from kiosk.services import ServiceError
from kiosk.services.bundle import Services
from kiosk.session import EndReason

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOCKED_MESSAGE = "本机暂停服务，请到人工窗口办理。给您带来不便，敬请谅解。"


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps, headers={"Cache-Control": "no-store"})


def error(code: str, message: str, status: int) -> web.Response:
    return ok({"error": code, "message": message}, status)


async def body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    # RecursionError: JSON nested thousands deep fits in the size limit; LookupError: an unknown charset
    # in the Content-Type (aiohttp decodes with it). Both are a bad request, not a server fault.
    except (ValueError, UnicodeDecodeError, RecursionError, LookupError):
        raise ServiceError("bad_request", "请求格式不对，请返回首页重试。", 400) from None
    if not isinstance(data, dict):
        raise ServiceError("bad_request", "请求格式不对，请返回首页重试。", 400)
    return data


def text(data: dict[str, Any], key: str, limit: int = 200) -> str:
    value = data.get(key, "")
    return value[:limit] if isinstance(value, str) else ""


class Api:
    """Route handlers bound to the services. ``action`` handlers count as user activity."""

    def __init__(self, services: Services) -> None:
        self.s = services

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def action(self, fn: Callable[[web.Request, dict[str, Any]], Awaitable[Any]], *, activity: bool = True,
               when_locked: bool = False) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if self.s.ctx.devices.locked and not when_locked:
                return error("locked", LOCKED_MESSAGE, 423)
            try:
                data = await body(request) if request.method == "POST" else {}
                if activity:
                    self.s.ctx.sessions.activity("touch")
                result = await fn(request, data)
            except ServiceError as exc:
                return error(exc.code, exc.message, exc.status)
            except CatalogError as exc:  # a faulty entry of a lazily checked catalog: that item only
                log.error("catalog entry unusable: %s", exc)
                return error("catalog_error", "这个事项的信息暂时有误，请到窗口咨询，给您带来不便敬请谅解。", 500)
            return result if isinstance(result, web.StreamResponse) else ok(result)
        return handler

    def routes(self) -> list[web.RouteDef]:
        a, s = self.action, self.s
        r = self.run
        return [
            web.post("/api/session/touch", a(self._touch)),
            web.post("/api/session/end", a(self._end, activity=False, when_locked=True)),
            web.post("/api/session/release-card", a(lambda q, d: r(s.ctx.sessions.release_card))),
            web.post("/api/session/card-gone", a(lambda q, d: r(s.ctx.sessions.confirm_card_removed))),
            web.get("/api/session", a(lambda q, d: r(s.ctx.sessions.state), activity=False, when_locked=True)),
            web.get("/api/home", a(lambda q, d: r(s.consult.home), activity=False)),
            web.get("/api/browse/{by}/{code}", a(lambda q, d: r(s.consult.browse, q.match_info["by"],
                                                                q.match_info["code"]))),
            web.get("/api/search", a(lambda q, d: r(s.consult.search, q.query.get("q", "")))),
            web.get("/api/items/{code}", a(lambda q, d: r(s.consult.item_view, q.match_info["code"]))),
            web.get("/api/bundles", a(lambda q, d: r(s.consult.bundles), activity=False)),  # read by the home screen
            web.post("/api/checklist/print", a(lambda q, d: r(s.consult.print_checklist, text(d, "item", 64),
                                                              text(d, "situation", 20) or None))),
            web.post("/api/query", a(lambda q, d: r(s.query.by_code, text(d, "code", 120)))),
            web.get("/api/my/cases", a(lambda q, d: r(s.query.my_cases))),
            web.post("/api/submit/start", a(self._start)),
            web.get("/api/submit", a(lambda q, d: r(s.submit.view))),
            web.post("/api/submit/material", a(lambda q, d: r(s.submit.choose, text(d, "material", 20),
                                                              text(d, "choice", 10)))),
            web.post("/api/submit/capture", a(lambda q, d: r(s.submit.capture, text(d, "material", 20)))),
            web.post("/api/submit/retake", a(lambda q, d: r(s.submit.retake, text(d, "material", 20),
                                                            _int(d.get("page"), -1)))),
            web.get("/api/submit/page/{material}/{index}", a(self._page, activity=False)),
            web.post("/api/submit/page/replace", a(lambda q, d: r(s.submit.replace_page, text(d, "material", 20),
                                                                  _int(d.get("page"), -1)))),
            web.post("/api/submit/page/delete", a(lambda q, d: r(s.submit.delete_page, text(d, "material", 20),
                                                                 _int(d.get("page"), -1)))),
            web.post("/api/submit/page/move", a(lambda q, d: r(s.submit.move_page, text(d, "material", 20),
                                                               _int(d.get("page"), -1), _int(d.get("to"), -1)))),
            web.post("/api/submit/details", a(self._details)),
            web.post("/api/submit/pickup", a(lambda q, d: r(s.submit.set_pickup, text(d, "method", 20),
                                                            text(d, "point", 40) or None, d.get("address")))),
            web.post("/api/submit/consent/ask", a(lambda q, d: r(s.submit.ask_resident_consent))),
            web.post("/api/submit/cancel", a(lambda q, d: r(s.submit.cancel))),
            web.post("/api/submit/commit", a(lambda q, d: r(s.committer.commit))),
            web.post("/api/reprint", a(lambda q, d: r(s.committer.reprint, text(d, "code", 120)))),
            web.post("/api/cases/acceptance-notice", a(lambda q, d: r(s.casework.print_acceptance,
                                                                      text(d, "code", 120)))),
            web.post("/api/cases/withdraw", a(lambda q, d: r(s.casework.withdraw, text(d, "code", 120),
                                                             text(d, "reason", 100)))),
            web.get("/api/complaints/categories", a(lambda q, d: r(s.casework.categories), activity=False)),
            web.post("/api/complaints", a(lambda q, d: r(s.casework.file, text(d, "code", 120), text(d, "kind", 10),
                                                         text(d, "category", 32), text(d, "text", 300),
                                                         d.get("callback") is True, text(d, "phone", 20)))),
            web.post("/api/complaints/print", a(lambda q, d: r(s.casework.print_slip, text(d, "receipt_no", 40)))),
            web.post("/api/corrections/start", a(lambda q, d: r(s.correction.start, text(d, "code", 120)))),
            web.get("/api/corrections", a(lambda q, d: r(s.correction.view))),
            web.post("/api/corrections/capture", a(lambda q, d: r(s.correction.capture, text(d, "material", 20)))),
            web.post("/api/corrections/retake", a(lambda q, d: r(s.correction.retake, text(d, "material", 20),
                                                                 _int(d.get("page"), -1)))),
            web.get("/api/corrections/page/{material}/{index}", a(self._correction_page, activity=False)),
            web.post("/api/corrections/commit", a(lambda q, d: r(s.correction.commit))),
            web.post("/api/agent/login", a(lambda q, d: r(s.agent.login, text(d, "agent_id", 20),
                                                          text(d, "pin", 12)))),
            web.get("/api/agent/cases", a(lambda q, d: r(s.agent.village_cases))),
            web.get("/api/queue/options", a(lambda q, d: r(s.queue.options))),
            web.post("/api/queue", a(lambda q, d: r(s.queue.take, text(d, "category", 8), d.get("green") is True,
                                                    _int(d.get("cases"), 1)))),
            web.post("/api/pickup", a(lambda q, d: r(s.pickup.verify, text(d, "code", 120)))),
            web.get("/api/evaluate/options", a(lambda q, d: r(s.evaluation.options), activity=False)),
            web.get("/api/evaluate/offers", a(lambda q, d: r(s.evaluation.offers))),
            web.post("/api/evaluate", a(lambda q, d: r(s.evaluation.evaluate, text(d, "kind", 10), text(d, "ref", 96),
                                                       _int(d.get("level"), 0), _tags(d.get("reasons")),
                                                       text(d, "comment", 400), d.get("callback") is True,
                                                       text(d, "phone", 20)))),
            web.post("/api/help", a(lambda q, d: r(s.feedback.help, "screen"), when_locked=True)),
            web.post("/api/maint/login", a(lambda q, d: r(s.maintenance.login, text(d, "pin", 20)),
                                           when_locked=True)),
            web.get("/api/maint/status", a(lambda q, d: r(s.maintenance.status), when_locked=True)),
            web.post("/api/maint/print-test", a(lambda q, d: r(s.maintenance.print_test), when_locked=True)),
            web.post("/api/maint/lock", a(lambda q, d: r(s.maintenance.lock, text(d, "reason", 40) or "维护"),
                                          when_locked=True)),
            web.post("/api/maint/unlock", a(lambda q, d: r(s.maintenance.unlock), when_locked=True)),
        ]

    async def _touch(self, request: web.Request, data: dict[str, Any]) -> dict[str, Any]:
        return self.s.ctx.sessions.state()

    async def _end(self, request: web.Request, data: dict[str, Any]) -> dict[str, Any]:
        self.s.ctx.sessions.end(EndReason.FINISHED)
        return {"ended": True}

    async def _start(self, request: web.Request, data: dict[str, Any]) -> Any:
        bundle = text(data, "bundle", 20)
        if bundle:
            return await self.run(self.s.submit.start_bundle, bundle)
        return await self.run(self.s.submit.start, text(data, "item", 64), text(data, "situation", 20))

    async def _page(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        return await self._jpeg(request, self.s.submit.page_jpeg)

    async def _correction_page(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        return await self._jpeg(request, self.s.correction.page_jpeg)

    async def _jpeg(self, request: web.Request, page: Callable[[str, int], bytes]) -> web.Response:
        try:
            index = int(request.match_info["index"])
        except ValueError:
            raise ServiceError("not_found", "没有这一页。", 404) from None
        jpeg = await self.run(page, request.match_info["material"], index)
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def _details(self, request: web.Request, data: dict[str, Any]) -> Any:
        consent = data.get("consent")
        return await self.run(self.s.submit.details, phone=data.get("phone") if isinstance(data.get("phone"), str)
                              else None, pickup=data.get("pickup") if isinstance(data.get("pickup"), str) else None,
                              consent=consent if isinstance(consent, bool) else None)


def _int(value: Any, default: int) -> int:
    """``value`` as an int; ``default`` for anything else, including NaN and ±infinity (1e999 in JSON)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _tags(value: Any) -> list[str]:
    return [t for t in value if isinstance(t, str)][:10] if isinstance(value, list) else []
