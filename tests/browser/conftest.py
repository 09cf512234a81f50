"""Browser-test fixtures: the real aiohttp server of the kiosk in a background thread on a free loopback
port, and Debian's Chromium driven headless through Playwright."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterator

import pytest

from kiosk.app import Kiosk, Ports
from kiosk.catalog import load_catalog
from kiosk.config import load_config
from tests.support.net import free_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


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

    def start(self) -> "KioskThread":
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
        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(10)

    def stop(self) -> None:
        if self._loop is None or self.kiosk is None:
            return
        asyncio.run_coroutine_threadsafe(self.kiosk.stop(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1024}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def make_kiosk(catalog_file, tmp_path) -> Iterator[Callable[..., KioskThread]]:
    """``make_kiosk(ports=Ports(), env={...}, clock=...)`` → a started KioskThread (stopped after the test)."""
    started: list[KioskThread] = []
    catalog = load_catalog(catalog_file)

    def make(ports: Ports | None = None, env: dict[str, str] | None = None, **kwargs: Any) -> KioskThread:
        config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path), "KIOSK_SYNC_ENABLED": "false",
                                        **(env or {})})
        runner = KioskThread(lambda: Kiosk(config, catalog, ports or Ports(), tick_s=0.1, **kwargs), free_port())
        started.append(runner.start())
        return runner

    yield make
    for runner in started:
        runner.stop()
