"""The page's live event stream (Server-Sent Events): device events, session countdown and reset, status.
The first event (``hello``) carries the server's boot id so that a page reconnecting to a restarted
service knows that every session it held is gone and clears itself."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from kiosk.events import EventBus

KEEPALIVE_S = 10.0
CLOSE = {"type": "_close"}  # sentinel put in every queue at shutdown
STREAMS: web.AppKey[set[asyncio.Queue[dict[str, Any]]]] = web.AppKey("streams", set)


def _frame(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event.get('type', 'message')}\ndata: {data}\n\n".encode()


async def event_stream(request: web.Request, bus: EventBus, hello: Callable[[], dict[str, Any]]) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})
    await response.prepare(request)
    queue = bus.subscribe()
    request.app[STREAMS].add(queue)
    try:
        await response.write(b"retry: 1000\n\n" + _frame({"type": "hello", **hello()}))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if event is CLOSE:
                break
            await response.write(_frame(event))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        request.app[STREAMS].discard(queue)
        bus.unsubscribe(queue)
    return response


async def close_streams(app: web.Application) -> None:
    """on_shutdown: end every open stream now, so that shutdown does not wait for them."""
    for queue in app[STREAMS].copy():
        queue.put_nowait(CLOSE)
