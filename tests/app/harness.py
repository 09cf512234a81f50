"""The kiosk's real aiohttp server in a background thread with its own event loop, for API and browser tests."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Self

from kiosk.app import Kiosk


class KioskThread:
    """Runs one Kiosk on its own event loop; ``restart()`` stops it and serves a fresh one on the same port."""

    def __init__(self, make: Callable[[], Kiosk], port: int) -> None:
        self.make = make
        self.port = port
        self.kiosk: Kiosk | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Self:
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self.kiosk = self.make()
                loop.run_until_complete(self.kiosk.start("127.0.0.1", self.port))
            except BaseException as exc:  # report to the test thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=main, name="kiosk-under-test", daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise TimeoutError("kiosk did not start")
        if failure:
            raise failure[0]
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the kiosk's loop thread and return its result."""
        async def wrapper() -> Any:
            return fn()
        if self._loop is None:
            raise RuntimeError("kiosk not started")
        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(10)

    def stop(self) -> None:
        if self._loop is None or self.kiosk is None:
            return
        asyncio.run_coroutine_threadsafe(self.kiosk.stop(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def restart(self) -> None:
        self.stop()
        self.start()
