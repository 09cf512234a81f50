"""The technician's hall control panel: a small aiohttp site on a loopback port, served from its own
thread and event loop, that plays the simulated devices through HallControl and shows the receipts
printed and the cases central holds."""
from __future__ import annotations

import asyncio
import re
import threading

from aiohttp import web

from simulators.hall.control import ActionError, HallControl
from simulators.hall.net import free_port
from simulators.hall.panel_page import PAGE

RECEIPT_NAME = re.compile(r"job-\d{4,6}\.png")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@web.middleware
async def loopback_only(request: web.Request, handler) -> web.StreamResponse:
    # A page on another site must not be able to press the hall's buttons through DNS rebinding.
    if request.host.rsplit(":", 1)[0] not in LOOPBACK_HOSTS:
        return web.json_response({"error": "forbidden host"}, status=403)
    return await handler(request)


def create_panel_app(control: HallControl) -> web.Application:
    app = web.Application(middlewares=[loopback_only], client_max_size=16 * 1024)
    loop_run = asyncio.get_running_loop

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def state(request: web.Request) -> web.Response:
        data = await loop_run().run_in_executor(None, control.state)
        return web.json_response(data, headers={"Cache-Control": "no-store"})

    async def act(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body is not a JSON object"}, status=400)
        device, action, value = (str(body.get(k) or "") for k in ("device", "action", "value"))
        try:
            # Broker restarts wait for the port: keep them off the loop.
            done = await loop_run().run_in_executor(None, control.act, device, action, value)
        except ActionError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"done": done})

    async def receipt(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = control.hall.receipts_dir / name
        if not RECEIPT_NAME.fullmatch(name) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    app.add_routes([web.get("/", index), web.get("/api/state", state), web.post("/api/act", act),
                    web.get("/receipts/{name}", receipt)])
    return app


class Panel:
    """The panel's server thread. ``start()`` returns its URL once it listens; ``stop()`` ends it."""

    def __init__(self, control: HallControl, port: int = 0, host: str = "127.0.0.1") -> None:
        self.control = control
        self.host, self.port = host, port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Raises OSError when the port cannot be bound, TimeoutError when the thread does not come up."""
        self._thread = threading.Thread(target=self._run, name="hall-panel", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("control panel did not start")
        if self._error is not None:
            raise self._error
        self.control.panel_url = self.url
        return self.url

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        runner = web.AppRunner(create_panel_app(self.control), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            self.port = self.port or free_port()
            await web.TCPSite(runner, self.host, self.port).start()
            self.url = f"http://{self.host}:{self.port}/"
        except BaseException as exc:
            self._error = exc
            self._started.set()
            await runner.cleanup()
            return
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:  # loop already closed
                pass
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
