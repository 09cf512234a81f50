"""Evaluation after a finished case, the help call, the holder's own cases, and the technician's
maintenance page (PIN, status, printer test, lock/unlock) in a real Chromium with the real stack."""
from __future__ import annotations

import hashlib
import json
import re
import time

import pytest

from edge_sync.querycode import format_query_code, receipt_url
from tests.browser.conftest import Screens
from tests.browser.test_consult_ui import CONTRAST, MEASURE
from tests.browser.test_flows_ui import fill_submission, keypad, read_card, shown_code
from tests.browser.test_navigation_ui import central_events

pytestmark = [pytest.mark.browser, pytest.mark.integration]
PIN = "246810"
FINISHED = re.compile("当前状态：(已办结|制证中|可以领取|已领取)")


def test_evaluate_a_finished_case_and_see_my_cases(make_kiosk, page, stack_fast, artifacts_dir):
    stack = stack_fast
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_SESSION_ACK_WAIT_S": "10"})
    page.goto(kiosk.url + "#/item/511900-GG-0003")  # 生育登记: 全程网办
    page.get_by_role("button", name="我要在这里申报").tap()
    read_card(stack, page, 0, "已读身份证：张*")
    fill_submission(page, scan_first=False)
    page.get_by_text("已提交，平台已受理").first.wait_for(timeout=30_000)
    code = shown_code(page)

    page.goto(kiosk.url + "#/mycases")
    page.get_by_text("生育登记").first.wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts_dir / "01-my-cases.png"), full_page=True)
    assert "138****0000" in page.locator("main").inner_text() or "张*" in page.locator("main").inner_text()

    page.goto(kiosk.url + "#/pickup")
    page.get_by_text("已读身份证：张*").first.wait_for()
    stack.scanner.send(f"scan {receipt_url(code)}")
    page.get_by_text(re.compile("可以领取了|还没有办好")).wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts_dir / "02-pickup.png"))

    deadline = time.monotonic() + 30
    while True:  # central finishes the case within moments (stack_fast)
        page.goto(kiosk.url + "#/follow")
        keypad(page, 0, code)
        page.get_by_role("button", name="查询", exact=True).tap()
        page.locator("#progress").wait_for(timeout=15_000)
        if FINISHED.search(page.locator("#progress").inner_text()):
            break
        assert time.monotonic() < deadline, page.locator("main").inner_text()
        time.sleep(1)
    page.screenshot(path=str(artifacts_dir / "03-finished.png"), full_page=True)
    # The finished case itself is evaluated from 我的办件 (the applicant's card is still in the reader).
    s = Screens(page, "portrait", prefix="service-")
    page.goto(kiosk.url + "#/mycases")
    s.tap(page.get_by_role("button", name=re.compile("评价这次服务（生育登记）")))
    page.get_by_role("button", name="非常不满意").wait_for()
    s.tap(page.get_by_role("button", name="满意", exact=True))
    assert page.locator("#reasons").count() == 0  # a reason is asked only for the two lowest levels
    # The comment in Chinese through the on-screen pinyin input: taidu → 态度, hao → 好.
    s.tap("写几句意见（可不填）")
    page.locator(".text-input").get_by_text("点字母拼出拼音").wait_for()  # the dictionary is loaded
    s.letters("taidu")
    s.tap(page.get_by_role("button", name="候选 态度"))
    s.letters("hao")
    s.tap(page.get_by_role("button", name="候选 好"))
    assert page.locator(".text-input .entry").inner_text() == "态度好"
    s.check("evaluate-text-input")
    assert page.evaluate(MEASURE) | {"body": 0} == {"small": [], "tiny": [], "body": 0}
    assert page.evaluate(CONTRAST) == []
    page.get_by_role("button", name="提交评价").tap()
    page.get_by_text("感谢您的评价").first.wait_for()
    deadline = time.monotonic() + 20
    while not (found := central_events(stack.tmp / "central.db", "service.evaluation")):
        assert time.monotonic() < deadline, "central never received the evaluation"
        time.sleep(0.3)
    sent = json.loads(found[0])
    assert sent["comment"] == "态度好" and sent["level_name"] == "满意" and sent["service"]["ref"] == code
    # One evaluation per service: the same case offers no second one, and says why.
    page.goto(kiosk.url + "#/mycases")
    page.get_by_text("生育登记：已评价过，每项服务只能评价一次").wait_for()
    assert page.get_by_role("button", name=re.compile("评价这次服务（生育登记）")).count() == 0


def test_maintenance_page(make_kiosk, page, stack, artifacts_dir):
    pin_hash = hashlib.sha256(PIN.encode()).hexdigest()
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_WEB_MAINTENANCE_PIN_SHA256": pin_hash})
    page.goto(kiosk.url)
    page.get_by_text("按窗口类别").first.wait_for()
    for _ in range(5):
        page.locator(".emblem").tap()
    page.get_by_text("仅限技术人员").first.wait_for()
    keypad(page, 0, "111111")
    page.get_by_role("button", name="进入").tap()
    page.get_by_text("维护密码不正确").first.wait_for()
    page.get_by_role("button", name="清空").tap()
    keypad(page, 0, PIN)
    page.get_by_role("button", name="进入").tap()
    page.get_by_text("事项目录版本").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "01-maintenance.png"), full_page=True)
    assert page.evaluate(CONTRAST) == []
    jobs = len(stack.jobs())
    page.get_by_role("button", name="打印测试页").tap()
    page.get_by_text("测试页已打印").first.wait_for(timeout=20_000)
    deadline = time.monotonic() + 10
    while len(stack.jobs()) == jobs:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    page.get_by_role("button", name="锁定终端").tap()
    page.get_by_text("本机暂停服务").first.wait_for()
    page.goto(kiosk.url)
    page.get_by_text("本机暂停服务").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "02-locked.png"))
    page.goto(kiosk.url + "#/maint")
    keypad(page, 0, PIN)
    page.get_by_role("button", name="进入").tap()
    page.get_by_role("button", name="解除锁定").tap()
    page.get_by_role("button", name="返回首页").tap()
    page.get_by_text("按窗口类别").first.wait_for()


def test_pickup_check_says_not_ready_wrong_person_then_which_window(make_kiosk, page, stack, artifacts_dir):
    """取件核验: notice QR + the applicant's card → not ready yet; another person's card → mismatch;
    once central says the certificate is ready → go to window N. Each check is its own short session."""
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_SESSION_ACK_WAIT_S": "10"})
    page.goto(kiosk.url + "#/item/511900-GG-0003")
    page.get_by_role("button", name="我要在这里申报").tap()
    read_card(stack, page, 0, "已读身份证：张*")
    fill_submission(page, scan_first=False)
    page.get_by_text("已提交，平台已受理").first.wait_for(timeout=30_000)
    code = shown_code(page)
    page.get_by_role("button", name="办完了，退出").tap()
    page.get_by_text("按窗口类别").first.wait_for()

    # Three ways to give the code, so that the scanner's duplicate filter (the same bytes within 1.5 s
    # count once, as a code held under the scanner) never hides a check: the QR, the keypad, the
    # printed dashed form scanned as text.
    def check(card: int, masked: str, expected: str, shot: str, how: str) -> str:
        page.goto(kiosk.url + "#/pickup")
        page.get_by_text("请扫描受理通知书上的二维码").first.wait_for()
        read_card(stack, page, card, f"已读身份证：{masked}")
        if how == "keypad":
            keypad(page, 0, code)
            page.get_by_role("button", name="核验", exact=True).tap()
        else:
            stack.scanner.send(f"scan {receipt_url(code) if how == 'qr' else format_query_code(code)}")
        answer = page.get_by_text(re.compile(expected))
        try:
            answer.wait_for(timeout=15_000)
        finally:
            page.screenshot(path=str(artifacts_dir / shot), full_page=True)
        page.screenshot(path=str(artifacts_dir / shot), full_page=True)
        text = page.locator("main").inner_text()
        page.get_by_role("button", name="完成").tap()
        page.get_by_text("按窗口类别").first.wait_for()
        return text

    assert "⚠" in check(0, "张*", "还没有办好", "01-not-ready.png", "qr")
    assert "⚠" in check(2, "向*花", "身份证与申请人不一致", "02-mismatch.png", "keypad")
    stack.central.send(f"status {code} ready_for_pickup")
    assert stack.central.wait_json(lambda o: o.get("event") == "command" and o.get("name") == "status",
                                   timeout=10)["ok"]
    ready = check(0, "张*", "可以领取了", "03-ready.png", "dashed")
    assert "✔" in ready and re.search(r"请到 \S+ 号窗口领取", ready), ready
