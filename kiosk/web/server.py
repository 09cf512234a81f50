"""The local web server (aiohttp, loopback only): static UI, JSON API, event stream, and the ticker that
drives session timeouts and printer status polls on the event loop."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from kiosk import __version__
from kiosk.events import EventBus
from kiosk.services.bundle import Services
from kiosk.web.api import Api, dumps, error
from kiosk.web.guards import TOKEN_HEADER, PageTokens, RateLimiter, same_origin
from kiosk.web.openapi import openapi
from kiosk.web.stream import STREAMS, close_streams, event_stream

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# No outside origin for anything: the page works with no network and no CDN.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
BOOT = web.AppKey("boot", str)
# The printer's status is asked for every ``status_poll_s`` while someone uses the terminal, and at least
# this seldom while nobody does (each poll wakes the resting terminal about six times); the tap that
# opens a session polls at once when the last poll is older than ``status_poll_s``.
REST_STATUS_POLL_S = 10.0
# Long-lived tasks of the app by name (the ticker), for the watchdog to see that they still run.
TASKS = web.AppKey("tasks", dict)
TOKENS = web.AppKey("tokens", PageTokens)
LIMITER = web.AppKey("limiter", RateLimiter)


# The Host header must name the loopback interface exactly (optionally with a port): anything else is a
# page of another site reaching us through DNS rebinding, or a request not made by our own browser.
LOOPBACK_HOST_RE = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?", re.ASCII | re.IGNORECASE)
# aiohttp's own answers (no such path, wrong method, body too large …) in the API's JSON error format.
FRAMEWORK_ERRORS = {404: ("not_found", "没有这个页面，请返回首页。"),
                    405: ("bad_method", "请求方式不对，请返回首页重试。"),
                    413: ("too_large", "请求内容太多，请返回首页重试。")}


def framework_error(exc: web.HTTPException) -> web.Response:
    """An aiohttp HTTP error as ``{"error", "message"}`` JSON with the same status."""
    code, message = FRAMEWORK_ERRORS.get(exc.status, ("bad_request", "请求有误，请返回首页重试。"))
    response = error(code, message, exc.status)
    if exc.status == 405 and "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> web.StreamResponse:
    """Refuse other Host names (DNS rebinding), cross-site form posts, state changes from another origin
    or without the page's token, and requests over a rate limit; answer every error as JSON; add
    security headers."""
    host = request.headers.get("Host", "")
    limited = None
    if not LOOPBACK_HOST_RE.fullmatch(host):
        response: web.StreamResponse = error("bad_host", "forbidden host (只接受本机访问)", 403)
    elif request.method == "POST" and request.can_read_body and request.content_type != "application/json":
        response = error("bad_request", "请求格式不对。", 415)
    elif request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(request.headers.get("Origin"), host):
        response = error("cross_origin", "forbidden origin (只接受本机页面)", 403)
    elif request.method not in ("GET", "HEAD", "OPTIONS") and \
            not request.app[TOKENS].valid(request.headers.get(TOKEN_HEADER)):
        response = error("bad_token", "页面已过期，请返回首页重试。", 403)
    elif request.method == "POST" and (limited := request.app[LIMITER].blocked(request.path)) is not None:
        response = error("rate_limited", limited, 429)
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:  # redirects and the like keep aiohttp's own answer
                raise
            response = framework_error(exc)
        except Exception:  # a fault of ours: logged, and still a message the page can show
            log.exception("%s %s failed", request.method, request.path[:80])
            response = error("internal", "系统出了点问题，请返回首页重试。", 500)
        if request.method == "POST":
            request.app[LIMITER].count(request.path, failed=response.status >= 400)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


def create_app(services: Services, bus: EventBus, *, boot_id: str | None = None, tick_s: float = 0.5,
               status_poll_s: float = 5.0, extra_status: Callable[[], dict[str, Any]] | None = None
               ) -> web.Application:
    """Build the aiohttp application. The ticker starts with the app and stops with it."""
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[STREAMS] = set()
    app[TASKS] = {}
    app[TOKENS] = PageTokens()
    app[LIMITER] = RateLimiter()
    boot = boot_id or secrets.token_hex(8)
    ctx = services.ctx

    def hello() -> dict[str, Any]:
        return {"boot": boot, "version": __version__, "status": status(), "session": ctx.sessions.state(),
                "site_name": ctx.settings.site_name, "hotline": ctx.settings.hotline, "mode": ctx.settings.mode,
                "idle_after_s": ctx.settings.idle_after_s}

    def status() -> dict[str, Any]:
        data = ctx.devices.status()
        data["catalog_version"] = ctx.catalog().version
        if extra_status is not None:
            data.update(extra_status())
        return data

    async def stream(request: web.Request) -> web.StreamResponse:
        return await event_stream(request, bus, hello)

    async def get_status(request: web.Request) -> web.Response:
        return web.json_response({"boot": boot, **status()}, headers={"Cache-Control": "no-store"})

    async def get_token(request: web.Request) -> web.Response:
        # Readable by a page of this origin only (no CORS): another site's page cannot learn it.
        return web.json_response({"token": request.app[TOKENS].issue()}, headers={"Cache-Control": "no-store"})

    async def get_openapi(request: web.Request) -> web.Response:
        return web.json_response(openapi(), dumps=dumps)

    api = Api(services)
    app.add_routes([web.get("/", _index), web.get("/api/events", stream), web.get("/api/status", get_status),
                    web.get("/api/token", get_token),
                    web.get("/api/openapi.json", get_openapi),
                    *api.routes(), web.static("/static", STATIC, append_version=False)])

    async def ticker(app: web.Application) -> AsyncIterator[None]:
        bus.bind(asyncio.get_running_loop())
        task = asyncio.create_task(_tick_forever(services, tick_s, status_poll_s, bus))
        app[TASKS]["ticker"] = task
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(ticker)
    app.on_shutdown.append(close_streams)
    app[BOOT] = boot
    return app


async def _tick_forever(services: Services, tick_s: float, status_poll_s: float, bus: EventBus) -> None:
    loop = asyncio.get_running_loop()
    ctx = services.ctx
    rest_poll_s = max(status_poll_s, REST_STATUS_POLL_S)
    last_poll = -rest_poll_s
    polling: asyncio.Future[Any] | None = None
    # Every application event (a card, a scan, a tap's session start) ticks at once; without a session
    # nothing times out, so a resting terminal ticks only for the printer poll.
    events = bus.subscribe()
    while True:
        try:
            ctx.sessions.tick()
            attended = ctx.sessions.current is not None
            ctx.devices.set_busy(attended)
            # The printer poll may wait behind a print job: never let it hold up the session timer.
            if loop.time() >= last_poll + (status_poll_s if attended else rest_poll_s) and \
                    (polling is None or polling.done()):
                last_poll = loop.time()
                polling = loop.run_in_executor(None, ctx.devices.poll_printer)
        except Exception:  # the ticker must outlive any single fault
            log.exception("ticker step failed")
        attended = ctx.sessions.current is not None
        delay = tick_s if attended else max(tick_s, last_poll + rest_poll_s - loop.time())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(events.get(), delay)
        while not events.empty():
            events.get_nowait()


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving on host:port (loopback only; checked by the config). Returns the runner to clean up."""
    # A request line or header up to the body limit (64 KiB) still reaches the guard and gets a JSON
    # answer; aiohttp's own 8 KiB limit would answer longer hostile URLs in plain text.
    runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None, max_line_size=64 * 1024,
                           max_field_size=64 * 1024)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    return runner
