"""Whole flows through the real UI, the real drivers over simulator ptys, the real edge_sync over a real
mosquitto and the central simulator: agent submission with camera capture and the printed notice whose
QR decodes to the case's code, following the case by scanning that code, an offline submission that
syncs when the broker returns, a queue ticket, and paper-out behaviour."""
from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from edge_sync.querycode import format_query_code, parse_receipt_code, receipt_url
from tests.browser.conftest import Screens
from tests.browser.test_consult_ui import search_by_taps

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def keypad(page, index: int, digits: str) -> None:
    pad = page.locator(".keypad").nth(index)
    for d in digits:
        pad.get_by_role("button", name=d, exact=True).tap()


def read_card(stack, page, n: int, masked: str) -> None:
    stack.idcard.send("remove")
    stack.idcard.send(f"present {n}")
    page.get_by_text(masked).first.wait_for(timeout=15_000)


def fill_submission(page, *, scan_first: bool, commit: bool = True,
                    resident_reads_card: Callable[[], None] | None = None) -> None:
    """From the situation list to the confirmation page (and the submit button when ``commit``): the first
    material photographed (``scan_first``), the others the platform does not hold brought to the window.
    In agent mode ``resident_reads_card`` plays the resident taking their card off the reader
    and back before they tap their own consent."""
    page.locator(".item-link").first.tap()
    page.get_by_text("请为每份材料选择提交方式").first.wait_for()
    cards = page.locator("main .card")
    if scan_first:
        cards.nth(0).get_by_role("button", name="用高拍仪拍照").tap()
        page.get_by_role("button", name="拍一页").wait_for()
        page.get_by_role("button", name="拍一页").tap()
        page.get_by_role("img", name="第 1 页").wait_for(timeout=20_000)
        from tests.browser.test_consult_ui import CONTRAST, MEASURE
        assert page.evaluate(MEASURE) | {"body": 0} == {"small": [], "tiny": [], "body": 0}
        assert page.evaluate(CONTRAST) == []
    for i in range(cards.count()):
        card = page.locator("main .card").nth(i)
        if card.locator(".btn.selected").count() == 0:
            card.get_by_role("button", name="带原件到窗口").tap()
            page.locator("main .card").nth(i).locator(".btn.selected").wait_for()
    page.get_by_role("button", name="下一步").tap()
    keypad(page, 0, "13800000000")
    page.get_by_role("button", name="下一步").tap()
    page.get_by_text("办好后怎么领取").first.wait_for()
    page.locator("main .row .btn.big").first.tap()
    page.locator("#pickup-chosen").wait_for()
    page.get_by_role("button", name="下一步").tap()
    if resident_reads_card is not None:
        page.get_by_text("拿起自己的身份证，再放回读卡区").first.wait_for()
        resident_reads_card()
        page.get_by_role("button", name=re.compile(r"我本人（.+）已了解并同意")).tap()
    else:
        page.get_by_role("button", name="我已了解并同意").tap()
    page.locator("#consent-given").wait_for()
    page.get_by_role("button", name="下一步").tap()
    page.get_by_text("请核对后提交").first.wait_for()
    if commit:
        page.get_by_role("button", name="确认提交").tap()


def shown_code(page) -> str:
    text = page.locator(".notice-ok .code, .notice-pending .code").first.inner_text()
    code = parse_receipt_code(text)
    assert code, text
    return code


def test_agent_submits_for_resident_and_citizen_follows_by_scan(make_kiosk, page, stack, artifacts_dir):
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_SESSION_ACK_WAIT_S": "10"})
    page.goto(kiosk.url + "#/agent")
    page.get_by_text("请代办员把本人身份证放在读卡区").first.wait_for()
    read_card(stack, page, 1, "已读身份证：欧**雯")  # the sample agent AG-0031
    keypad(page, 0, "0031")
    keypad(page, 1, "123456")
    page.screenshot(path=str(artifacts_dir / "01-agent-login.png"))
    page.get_by_role("button", name="登录", exact=True).tap()
    page.locator("#toast:not([hidden]), main h1:text('代办员工作台')").first.wait_for(timeout=15_000)
    assert page.locator("#toast").is_hidden(), page.locator("#toast").inner_text()
    page.screenshot(path=str(artifacts_dir / "02-agent-home.png"))

    page.goto(kiosk.url + "#/item/511900-XK-0004")
    page.get_by_role("button", name="为群众代办申报").tap()
    page.get_by_text("请群众把本人身份证放在读卡区").first.wait_for()
    read_card(stack, page, 0, "群众：张*")
    # The resident consents by their own tap after reading their card again (the server refuses the
    # agent's consent).
    fill_submission(page, scan_first=True,
                    resident_reads_card=lambda: read_card(stack, page, 0, "已读到申请人 张*"))
    # 食品经营许可 is 网上预审: the originals are checked at the window before 受理, so the paper is a
    # 预审回执 with no promised date, and the screen says so.
    page.get_by_text("已提交，请到窗口核验原件").first.wait_for(timeout=30_000)
    page.get_by_text("预审回执已打印").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "03-submitted.png"), full_page=True)
    assert "承诺办结：窗口核验原件、正式受理后确定" in page.locator("#result").inner_text()
    code = shown_code(page)
    lines = stack.job_with_qr(receipt_url(code))["text"]
    text = "\n".join(lines)
    assert lines[0].strip() == "预审回执" and "凭本通知书和身份证领取" not in text
    assert "张*" in text and "511902198806120319" not in text

    page.get_by_role("button", name="为下一位群众办理").tap()
    page.get_by_text("代办员工作台").first.wait_for()
    assert "群众：" not in page.locator("#who").inner_text()
    page.get_by_role("button", name="本村办件").tap()
    page.get_by_text("食品经营许可").first.wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts_dir / "04-village-cases.png"), full_page=True)
    page.get_by_role("button", name="返回首页").tap()
    page.get_by_role("button", name="代办员登录").tap()
    page.get_by_role("button", name="退出登录").tap()
    page.get_by_text("按窗口类别").first.wait_for()
    stack.scanner.send(f"scan {receipt_url(code)}")
    page.locator("#progress").wait_for(timeout=15_000)
    page.get_by_text("食品经营许可").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "05-progress.png"), full_page=True)
    assert "张*" in page.locator("main").inner_text()
    assert "511902198806120319" not in page.content()


def test_offline_submission_prints_pending_notice_and_syncs_later(make_kiosk, page, stack, artifacts_dir):
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_SESSION_ACK_WAIT_S": "2", "KIOSK_SESSION_REQUEST_TIMEOUT_S": "1"})
    s = Screens(page, "portrait", prefix="flows-")
    page.goto(kiosk.url + "#/mycases")
    read_card(stack, page, 0, "已读身份证：张*")
    page.get_by_text("没有查到您的办件").first.wait_for(timeout=15_000)  # online: central's (empty) list
    stack.broker.stop()
    page.goto(kiosk.url + "#/item/511900-XK-0004")
    page.get_by_role("button", name="我要在这里申报").tap()
    fill_submission(page, scan_first=False)
    page.get_by_text("已提交，待平台确认").first.wait_for(timeout=30_000)
    page.get_by_text("申请回执已打印").first.wait_for()  # offline: the paper is a 申请回执, not a 受理通知书
    s.check("offline-notice")
    page.locator("#bring").get_by_text("请带上这些原件到窗口").wait_for()  # paper materials were chosen
    code = shown_code(page)
    printed = "\n".join(stack.job_with_qr(receipt_url(code))["text"])
    assert "待平台确认" in printed

    # 我的办件 offline: the list last seen here with its age, and this case as its notice says it.
    s.tap("返回首页")
    s.tap(page.locator(".tile", has_text="我的办件"))
    mine = page.locator("#my-cases")
    mine.get_by_text("保存的进度").wait_for(timeout=15_000)
    s.check("my-cases-offline")
    text = mine.inner_text()
    assert "已提交，待平台确认" in text and format_query_code(code) in text and "食品经营许可" in text
    assert "领取方式：窗口领取" in text      # how the result comes, as chosen (and on the paper)
    assert format_query_code(code) in printed.replace(" ", "") or code in printed.replace("-", "")

    stack.broker.start()
    kiosk.call(lambda: kiosk.kiosk.sessions.end())  # the person leaves; the inactivity reset ends the visit
    page.get_by_text("按窗口类别").first.wait_for()
    deadline = time.monotonic() + 40
    while True:  # central has it once the outbox drained after the broker came back
        page.goto(kiosk.url + "#/follow")
        keypad(page, 0, code)
        page.get_by_role("button", name="查询", exact=True).tap()
        outcome = page.locator("#progress").or_(page.get_by_text("没有查到")).or_(page.get_by_text("重新扫码或输入"))
        outcome.first.wait_for()
        if page.locator("#progress").count():
            break
        assert time.monotonic() < deadline, page.locator("main").inner_text()
        time.sleep(1.5)
    page.get_by_text("食品经营许可").first.wait_for()


def test_queue_ticket(make_kiosk, page, stack, artifacts_dir):
    kiosk = make_kiosk(stack.ports())
    page.goto(kiosk.url + "#/queue")
    page.get_by_role("button", name=re.compile("经济发展")).tap()
    page.get_by_text("取号成功").first.wait_for(timeout=15_000)
    number = page.locator(".big-number").inner_text()
    assert re.fullmatch(r"[A-Z]\d{3}", number), number
    page.get_by_text("号票已打印").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "ticket.png"), full_page=True)
    from tests.browser.test_consult_ui import CONTRAST
    assert page.evaluate(CONTRAST) == []
    assert any(number in "\n".join(j["text"]) for j in stack.jobs())


def test_paper_out_pauses_submission_but_consultation_goes_on(make_kiosk, page, stack_no_paper, artifacts_dir):
    stack = stack_no_paper
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_PRINTER_STATUS_POLL_S": "1"})
    page.goto(kiosk.url)
    page.get_by_text("打印机缺纸").first.wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts_dir / "paper-out-home.png"))
    search_by_taps(Screens(page, "portrait"), "yyzz")
    page.locator(".item-link").first.wait_for()
    page.goto(kiosk.url + "#/item/511900-XK-0004")
    page.get_by_role("button", name="我要在这里申报").tap()
    read_card(stack, page, 0, "已读身份证：张*")
    page.locator(".item-link").first.tap()
    page.get_by_text("暂停网上提交").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "paper-out-submit.png"))
