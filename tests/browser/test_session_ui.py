"""The privacy reset in a real Chromium: a citizen's card is read by the real ID-card driver from the
simulator, the submission flow shows their (masked) data, the countdown warns, the reset comes, and
nothing of that person is left in the page: DOM, storage, JS globals. Card removal ends the card flow."""
from __future__ import annotations

import json
import re

import pytest

from kiosk.adapters import IdReaderAdapter, PrinterAdapter, ReceiptsAdapter
from kiosk.app import Ports
from tests.app.doubles import FakeClock
from tests.browser.conftest import Screens
from tests.browser.test_consult_ui import CONTRAST, MEASURE, search_by_taps
from tests.browser.test_flows_ui import fill_submission
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.browser

# Everything the page holds: DOM text and markup, both storages, and every global that is not a
# standard browser one (compared with a fresh blank page), serialised where possible.
PAGE_DUMP = """(baseline) => {
  const globals = {};
  for (const key of Object.getOwnPropertyNames(window)) {
    if (baseline.includes(key)) continue;
    try { globals[key] = JSON.stringify(window[key]); } catch (e) { globals[key] = String(window[key]); }
  }
  const store = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)]));
  return {text: document.body.innerText, html: document.documentElement.outerHTML,
          local: store(localStorage), session: store(sessionStorage), globals, url: location.href};
}"""


@pytest.fixture
def devices(identities_file, tmp_path):
    with SimProcess("idcard", "--identities", str(identities_file)) as idcard, \
         SimProcess("printer", "--out", str(tmp_path / "receipts"), "--paper", "80") as printer:
        yield idcard, printer


def baseline_globals(browser) -> list[str]:
    context = browser.new_context()
    blank = context.new_page()
    blank.goto("about:blank")
    names = blank.evaluate("() => Object.getOwnPropertyNames(window)")
    context.close()
    return names


def test_countdown_then_reset_leaves_nothing_of_the_person(make_kiosk, page, browser, devices, artifacts_dir):
    idcard, printer = devices
    clock = FakeClock()
    ports = Ports(idreader=IdReaderAdapter(idcard.port), printer=PrinterAdapter(printer.port, "generic", 80),
                  receipts=ReceiptsAdapter())
    kiosk = make_kiosk(ports, clock=clock)
    page.goto(kiosk.url + "#/item/511900-XK-0004")
    page.get_by_role("button", name="我要在这里申报").tap()
    page.get_by_text("请把申请人的身份证放在读卡区").first.wait_for()
    idcard.send("present 0")  # 张伟 511902198806120319
    page.get_by_text("已读身份证：张*").first.wait_for(timeout=15_000)
    fill_submission(page, scan_first=False, commit=False)
    page.screenshot(path=str(artifacts_dir / "01-confirm.png"), full_page=True)
    assert page.evaluate(MEASURE) | {"body": 0} == {"small": [], "tiny": [], "body": 0}
    assert page.evaluate(CONTRAST) == []
    before = page.evaluate(PAGE_DUMP, baseline_globals(browser))
    assert "张*" in before["text"] and "138****0000" in before["text"]
    assert "511902198806120319" not in before["html"] and "张伟" not in before["html"]  # masked even now

    clock.advance(46)
    page.get_by_text("您还在办理吗？").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "02-countdown.png"))
    assert page.evaluate(MEASURE)["small"] == []
    clock.advance(15)
    page.get_by_text("按窗口类别").first.wait_for(timeout=15_000)
    after = page.evaluate(PAGE_DUMP, baseline_globals(browser))
    page.screenshot(path=str(artifacts_dir / "03-after-reset.png"))
    everything = json.dumps(after, ensure_ascii=False)
    for secret in ("张*", "张伟", "138", "0000", "511902198806120319", "食品经营许可", "从事"):
        assert secret not in after["text"] and secret not in after["html"], secret
        assert secret not in everything, secret
    assert after["local"] == {} and after["session"] == {}
    assert "item/511900-XK-0004" not in after["url"]
    assert kiosk.call(lambda: kiosk.kiosk.sessions.current) is None


def test_card_removal_ends_the_card_flow(make_kiosk, page, devices):
    idcard, printer = devices
    ports = Ports(idreader=IdReaderAdapter(idcard.port), printer=PrinterAdapter(printer.port, "generic", 80),
                  receipts=ReceiptsAdapter())
    kiosk = make_kiosk(ports)
    page.goto(kiosk.url + "#/mycases")
    page.get_by_text("请把身份证放在读卡区").first.wait_for()
    idcard.send("present 1")  # 欧阳晓雯
    page.get_by_text("已读身份证：欧**雯").first.wait_for(timeout=15_000)
    idcard.send("remove")
    page.get_by_text("身份证已取走").first.wait_for(timeout=15_000)
    page.get_by_text("按窗口类别").first.wait_for()
    assert "欧**雯" not in page.locator("body").inner_text()


def test_reader_missing_is_said_and_consultation_goes_on(make_kiosk, page, tmp_path, artifacts_dir):
    kiosk = make_kiosk(Ports(idreader=IdReaderAdapter(str(tmp_path / "no-such-reader"))))
    page.goto(kiosk.url)
    page.get_by_text("身份证读卡器暂时不能使用").first.wait_for(timeout=15_000)
    page.get_by_role("button", name="我的办件").tap()
    page.locator("main").get_by_text("需要刷身份证的业务请到人工窗口办理").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "reader-missing.png"))
    page.get_by_role("button", name="返回首页").tap()
    page.get_by_text("按窗口类别").first.wait_for()
    search_by_taps(Screens(page, "portrait"), "hkqy")
    page.get_by_role("button", name=re.compile("户口迁移")).wait_for()
