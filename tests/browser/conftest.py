"""Browser-test fixtures: the real aiohttp server of the kiosk in a background thread on a free loopback
port, and Debian's Chromium driven headless through Playwright."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.app import Kiosk, Ports
from kiosk.catalog import load_catalog
from kiosk.config import load_config
from tests.app.harness import KioskThread
from tests.support.net import free_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Not per session: a sync Playwright left running marks the main
    thread's event loop as running, and every later ``sync_playwright()`` (the hall's headless morning,
    run in-process by other test packages) would then refuse to start."""
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


class Stack:
    """mosquitto + the central simulator + every device simulator + the real drivers and sync engine."""

    def __init__(self, tmp_path, catalog_file, identities_file, paper_state: str = "ok",
                 pace: str | None = None) -> None:
        from tests.support.broker import Broker

        self.tmp = tmp_path
        self.receipts = tmp_path / "receipts"
        self.broker = Broker().start()
        self._procs: list[Any] = []
        try:
            self.central = self._sim("central", "--broker", self.broker.url, "--db", str(tmp_path / "central.db"),
                                     "--catalog", str(catalog_file), "--keys", str(tmp_path / "keys"),
                                     "--speed", "2000", *(["--pace", pace] if pace else []))
            self.idcard = self._sim("idcard", "--identities", str(identities_file))
            self.printer = self._sim("printer", "--out", str(self.receipts), "--paper", "80",
                                     "--paper-state", paper_state)
            self.scanner = self._sim("scanner", "--baud", "0")
        except BaseException:
            self.close()
            raise
        self.engine: Any = None

    def _sim(self, *args: str) -> Any:
        from tests.support.simproc import SimProcess

        proc = SimProcess(*args).start()
        self._procs.append(proc)
        return proc

    def ports(self) -> Ports:
        from edge_sync import SyncConfig, SyncEngine
        from kiosk.adapters import (
            CameraAdapter,
            IdReaderAdapter,
            PrinterAdapter,
            ReceiptsAdapter,
            ScannerAdapter,
            SyncAdapter,
        )

        config = SyncConfig(device_id="KSK-511902-0007", site_id="511902-HALL-01", mqtt_url=self.broker.url,
                            data_dir=self.tmp / "terminal", min_free_mb=20.0, reconnect_min_s=0.2,
                            reconnect_max_s=1.0, ack_timeout_s=3.0)
        config.data_dir.mkdir(exist_ok=True)
        self.engine = SyncEngine(config)
        self.engine.start()
        if not self.engine.session.connected.wait(15):
            raise TimeoutError("sync engine did not connect to the test broker")
        return Ports(sync=SyncAdapter(self.engine), idreader=IdReaderAdapter(self.idcard.port),
                     scanner=ScannerAdapter(self.scanner.port), printer=PrinterAdapter(self.printer.port, "generic", 80),
                     receipts=ReceiptsAdapter(), camera=CameraAdapter("sim:page?seed=3"))

    def jobs(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(p.read_text("utf-8")) for p in sorted(self.receipts.glob("job-*.json"))]

    def job_with_qr(self, payload: str, timeout: float = 10.0) -> dict[str, Any]:
        """The printed job whose QR carries ``payload`` (the simulator writes a job once it is cut)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = [job for job in self.jobs() if payload in job.get("qr", [])]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no printed job with QR {payload!r}: {self.jobs()}")
            time.sleep(0.2)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        for proc in reversed(self._procs):
            proc.stop()
        self.broker.cleanup()


def _stack_fixture(doc: str, **options: Any):
    def fixture(tmp_path, catalog_file, identities_file):
        s = Stack(tmp_path, catalog_file, identities_file, **options)
        try:
            yield s
        finally:
            s.close()
    fixture.__doc__ = doc
    return pytest.fixture(fixture)


stack = _stack_fixture("The whole simulated stack, paper loaded.")
stack_fast = _stack_fixture("Central finishes every case within moments (evaluation of a finished case).",
                            pace="0.00001")
stack_no_paper = _stack_fixture("The printer simulator starts out of paper.", paper_state="out")
