"""Browser-test fixtures: the real aiohttp server of the kiosk in a background thread on a free loopback
port, and Debian's Chromium driven headless through Playwright, in a touch context at the terminal's two
screen shapes (portrait 1080×1920, landscape 1920×1080). Tests touch the screen only: ``tap()``, never
``click()``, ``fill()``, ``type()`` or key presses. ``Screens.check(name)`` runs axe-core (from npm,
installed by scripts/bootstrap) on the screen and keeps its screenshot in artifacts/screens/<viewport>/."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pytest

from kiosk.app import Kiosk, Ports
from kiosk.catalog import load_catalog
from kiosk.config import load_config
from tests.app.harness import KioskThread
from tests.support.net import free_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = REPO / "artifacts" / "screens"
VIEWPORTS = {"portrait": {"width": 1080, "height": 1920}, "landscape": {"width": 1920, "height": 1080}}
# The one deliberate exception: the terminal locks zoom (user-scalable=no) so that a stray pinch
# cannot leave the screen enlarged for the next visitor; the text-size steps replace zoom.
AXE_ALLOWED = {"meta-viewport"}
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160)) }));
}"""


def touch_context(browser: Any, viewport: str) -> Any:
    """A touch-screen context (has_touch: tap() sends real touch events) at one of the two shapes.
    ``bypass_csp`` lets the tests inject axe-core into the page despite its Content-Security-Policy."""
    return browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN", has_touch=True, bypass_csp=True)


class Screens:
    """The gestures of a person at the terminal plus the checks every visited screen gets."""

    def __init__(self, page: Any, viewport: str, prefix: str = "") -> None:
        self.page = page
        self.viewport = viewport
        self.prefix = prefix
        self.checked: list[str] = []

    def tap(self, target: Any, *, name: str | None = None, exact: bool = True) -> None:
        """Taps a locator, or the first visible button whose accessible name is ``target``."""
        if isinstance(target, str):
            target = self.page.get_by_role("button", name=target if exact else re.compile(re.escape(target)),
                                           exact=exact).first
        target.tap()
        if name:
            self.check(name)

    def letters(self, text: str) -> None:
        """Taps ``text`` on the on-screen letter keyboard of the screen."""
        for ch in text:
            self.page.locator(f".kbd button[data-key='{ch}']").first.tap()

    def pinyin(self, *words: tuple[str, str]) -> None:
        """Chinese through the on-screen pinyin input: for each (letters, word) the letters, then the word's
        candidate — once the dictionary is loaded."""
        self.page.locator(".text-input").get_by_text("点字母拼出拼音").wait_for()
        for letters, word in words:
            self.letters(letters)
            self.tap(self.page.get_by_role("button", name=f"候选 {word}"))

    def keypad(self, digits: str, index: int = 0) -> None:
        pad = self.page.locator(".keypad").nth(index)
        for d in digits:
            pad.get_by_role("button", name=d, exact=True).tap()

    def axe(self) -> list[dict[str, Any]]:
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate(AXE_RUN)
        return [v for v in found if v["id"] not in AXE_ALLOWED]

    def check(self, name: str) -> Path:
        """Screenshot of the screen as a person sees it, then axe-core: zero violations (zoom lock aside)."""
        path = SCREENS / self.viewport / f"{self.prefix}{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_timeout(150)  # let the last render settle before the picture
        self.page.screenshot(path=str(path))
        violations = self.axe()
        assert violations == [], f"axe on {name} ({self.viewport}): {json.dumps(violations, ensure_ascii=False)}"
        self.checked.append(name)
        return path


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
    """A touch page in portrait (the usual terminal): the long flows run at this shape only."""
    context = touch_context(browser, "portrait")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def screens(page, request) -> Screens:
    return Screens(page, "portrait", prefix=_prefix(request))


@pytest.fixture(params=sorted(VIEWPORTS))
def any_screens(browser, request) -> Iterator[Screens]:
    """The same test at both screen shapes; ``any_screens.page`` is the touch page."""
    context = touch_context(browser, request.param)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        yield Screens(pg, request.param, prefix=_prefix(request))
    finally:
        context.close()


def _prefix(request: Any) -> str:
    """Screenshots are named <module>-<screen>: test_layout_ui.py's "home" is layout-home.png."""
    return request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").removesuffix("_ui") + "-"


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


def office_morning() -> str:
    """Today 09:00 China time: central's case clock starts there, whatever the hour the tests run (at 22:00
    a same-day 即办 step would be due within the hour, 4 s at the tests' speed)."""
    today = datetime.now(timezone(timedelta(hours=8))).date()
    return datetime.combine(today, dtime(9, 0), timezone(timedelta(hours=8))).isoformat()


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
                                     "--speed", "2000", "--clock-start", office_morning(),
                                     *(["--pace", pace] if pace else []))
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
                     scanner=ScannerAdapter(self.scanner.port),
                     printer=PrinterAdapter(self.printer.port, "generic", 80),
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
