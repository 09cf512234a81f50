"""A draft is never thrown away without asking, in a real Chromium touched only, with the real ID-card and
scanner drivers on their simulators and the simulated document camera: 上一步 steps back through the
wizard one step at a time; camera pages are retaken in place, deleted and moved; help, a stray scan,
返回首页 and the card's removal all leave the draft as it was until the person confirms."""
from __future__ import annotations

import time

import pytest

from edge_sync.querycode import receipt_url
from kiosk.adapters import CameraAdapter, IdReaderAdapter, PrinterAdapter, ReceiptsAdapter, ScannerAdapter
from kiosk.app import Ports
from tests.browser.test_consult_ui import wait_connected
from tests.support.simproc import SimProcess

pytestmark = [pytest.mark.browser, pytest.mark.integration]
DRAFT = "card:draft"
CODE = "7KQ2M9XDPA4TH6WRP"
# Counts, from now on, each time the prompt ``key`` is put in the caption line (window.saidAgain).
SAID_AGAIN_WATCH = """(key) => {
  window.saidAgain = 0;
  const caption = document.getElementById('voice-caption');
  new MutationObserver(() => { if (caption.dataset.key === key) window.saidAgain += 1; })
    .observe(caption, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture
def devices(identities_file, tmp_path):
    with SimProcess("idcard", "--identities", str(identities_file)) as idcard, \
         SimProcess("scanner", "--baud", "0") as scanner, \
         SimProcess("printer", "--out", str(tmp_path / "receipts"), "--paper", "80") as printer:
        yield idcard, scanner, printer


def page_ids(page, material: str) -> list[str]:
    return page.evaluate("(m) => [...document.querySelectorAll(`.material[data-material='${m}'] figure img`)]"
                         ".map((i) => new URL(i.src).searchParams.get('v'))", material)


def wait_for(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


def test_a_draft_survives_back_help_scan_home_and_card_removal(make_kiosk, screens, devices):
    s, page = screens, screens.page
    idcard, scanner, printer = devices
    kiosk = make_kiosk(Ports(idreader=IdReaderAdapter(idcard.port), scanner=ScannerAdapter(scanner.port),
                             printer=PrinterAdapter(printer.port, "generic", 80), receipts=ReceiptsAdapter(),
                             camera=CameraAdapter("sim:page?seed=3")))
    draft = lambda: kiosk.call(lambda: (kiosk.kiosk.sessions.current or None) and  # noqa: E731
                               kiosk.kiosk.sessions.current.flow.get(DRAFT))
    page.goto(kiosk.url + "#/item/511900-XK-0004")
    wait_connected(page)
    s.tap("我要在这里申报")
    page.locator("#wait-card").wait_for()
    s.check("wait-card")
    idcard.send("present 0")
    page.get_by_text("请选择符合您的情形").first.wait_for(timeout=15_000)
    s.check("situations")
    s.tap(page.locator(".item-link", has_text="首次申请"))
    page.locator("#wizard[data-step='1']").wait_for()
    # The step's prompt (请为每份材料选择提交方式) was said as it opened; the choices and pages below draw
    # the step again each time, and must not say it again each time.
    page.evaluate(SAID_AGAIN_WATCH, "materials")

    # Three pages of the first material, then 重拍 (in place), 后移 and 删除.
    card = page.locator(".material[data-material='M01']")
    s.tap(card.get_by_role("button", name="用高拍仪拍照"))
    for n in range(1, 4):
        s.tap(page.locator(".material[data-material='M01']").get_by_role("button", name="拍一页"))
        page.locator(".material[data-material='M01'] figure").nth(n - 1).wait_for(timeout=20_000)
    first = page_ids(page, "M01")
    assert len(set(first)) == 3
    s.check("pages")
    s.tap(page.get_by_role("button", name="重拍第 2 页"))
    page.wait_for_function("([m, old]) => { const i = document.querySelectorAll("
                           "`.material[data-material='${m}'] figure img`); return i.length === 3"
                           " && new URL(i[1].src).searchParams.get('v') !== old; }", arg=["M01", first[1]])
    retaken = page_ids(page, "M01")
    assert retaken[0] == first[0] and retaken[2] == first[2] and retaken[1] not in first
    s.tap(page.get_by_role("button", name="第 1 页后移"))
    page.wait_for_function("(want) => JSON.stringify([...document.querySelectorAll("
                           "\".material[data-material='M01'] figure img\")]"
                           ".map((i) => new URL(i.src).searchParams.get('v'))) === want",
                           arg=f'["{retaken[1]}","{retaken[0]}","{retaken[2]}"]')
    s.tap(page.get_by_role("button", name="删除第 3 页"))
    page.wait_for_function(
        "() => document.querySelectorAll(\".material[data-material='M01'] figure\").length === 2")
    assert page_ids(page, "M01") == [retaken[1], retaken[0]]
    for code in ("M04", "M05", "M06"):
        s.tap(page.locator(f".material[data-material='{code}']").get_by_role("button", name="带原件到窗口"))
        page.locator(f".material[data-material='{code}'] .btn.selected").wait_for()
    assert page.evaluate("() => window.saidAgain") == 0, "the materials prompt was said again on a redraw"

    # 上一步 goes back exactly one step: phone → materials (as left) → situations → (leaving asks).
    s.tap(page.locator(".actions").get_by_role("button", name="下一步"))
    page.locator("#wizard[data-step='2']").wait_for()
    s.tap("上一步")
    page.locator("#wizard[data-step='1']").wait_for()
    assert page_ids(page, "M01") == [retaken[1], retaken[0]]
    s.tap("上一步")
    page.get_by_text("请选择符合您的情形").first.wait_for()
    s.tap(page.locator(".item-link", has_text="首次申请"))  # the same situation: nothing is lost
    page.locator("#wizard[data-step='1']").wait_for()
    assert page_ids(page, "M01") == [retaken[1], retaken[0]]

    # Help over the screen, and back to it.
    s.tap("呼叫工作人员")
    page.locator("#help-dialog").wait_for()
    s.tap("回到刚才的页面")
    assert page_ids(page, "M01") == [retaken[1], retaken[0]]

    # A stray scan asks; 继续填写申请 keeps everything.
    scanner.send(f"scan {receipt_url(CODE)}")
    page.get_by_text("扫到了一张受理通知书").wait_for(timeout=15_000)
    s.check("stray-scan")
    s.tap("继续填写申请")
    page.locator("#wizard[data-step='1']").wait_for()

    # 返回首页 asks too.
    s.tap("返回首页")
    page.get_by_text("要放弃正在填写的申请吗？").wait_for()
    s.check("leave-draft")
    s.tap("继续填写")
    assert page_ids(page, "M01") == [retaken[1], retaken[0]] and draft()

    # The card leaves: the draft waits for the answer; the same card back and it goes on.
    idcard.send("remove")
    page.locator("#card-away").wait_for(timeout=15_000)
    s.check("card-away")
    assert draft() and kiosk.call(lambda: kiosk.kiosk.sessions.current.card_away)
    idcard.send("present 0")
    page.locator("#card-away").wait_for(state="detached", timeout=15_000)
    assert page_ids(page, "M01") == [retaken[1], retaken[0]]
    s.tap(page.locator(".actions").get_by_role("button", name="下一步"))
    page.locator("#wizard[data-step='2']").wait_for()

    # Removed again and given up: now, and only now, the draft and the card go.
    idcard.send("remove")
    page.locator("#card-away").wait_for(timeout=15_000)
    s.tap("放弃申请")
    page.get_by_text("按窗口类别").first.wait_for(timeout=15_000)
    wait_for(lambda: not draft(), "the draft was not dropped")
    assert kiosk.call(lambda: kiosk.kiosk.sessions.current.card) is None
    assert "张*" not in page.locator("body").inner_text()
