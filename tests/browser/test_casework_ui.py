"""What a person does with a case from its progress view, by taps in a real Chromium against the whole
simulated stack: 催办 (prominent on a late step) and 投诉 with central's receipt number, the hotline and the
printed slip (both screen shapes); the card asked for when a scanned notice's case is urged; 撤回 of a case
not yet accepted, asked first; the 受理通知书 printed from 我的办件; 补正 with the document camera for a case
central put in correction_needed."""
from __future__ import annotations

import re

import pytest

from edge_sync.querycode import format_query_code, receipt_url
from tests.browser import hallstack
from tests.browser.conftest import Screens
from tests.browser.hallstack import ZHANG
from tests.browser.test_consult_ui import wait_connected
from tests.support.wait import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]
# One simulated hall for the module (hallstack.py) and a fresh visitor for each test.
catalog_file, hall, fresh_visitor = hallstack.catalog_file, hallstack.hall, hallstack.fresh_visitor


def printed_slips(hall, title: str) -> list[dict]:
    return [job for job in hall.stack.jobs() if job.get("text") and job["text"][0] == title]


def jobs_with_qr(hall, code: str) -> list[dict]:
    return [job for job in hall.stack.jobs() if receipt_url(code) in job.get("qr", [])]


def home(s: Screens, hall) -> None:
    """A fresh page of the terminal, nobody at it."""
    s.page.goto(hall.url)
    wait_connected(s.page)


def finish(s: Screens) -> None:
    """完成 on a result screen: the session ends and the page wipes itself and loads afresh."""
    s.tap("完成")
    s.page.locator(".tile", has_text="我的办件").wait_for(timeout=15_000)
    wait_connected(s.page)


def my_case(s: Screens, hall, code: str):
    """我的办件 reached by taps from the home screen, the applicant's card read; the card of case ``code``."""
    hall.present(ZHANG)
    s.page.get_by_text("已读身份证：张*").first.wait_for(timeout=15_000)
    s.tap(s.page.locator(".tile", has_text="我的办件"))
    card = s.page.locator("#my-cases .card", has_text=format_query_code(code))
    card.wait_for(timeout=15_000)
    return card


def test_urge_on_a_late_step_and_complain_with_receipt_and_slip(hall, any_screens):
    s, page = any_screens, any_screens.page
    code = hall.submit(ZHANG)
    hall.central("advance 20")  # the running step is past its limit (and far from done): red
    home(s, hall)
    card = my_case(s, hall, code)
    late = card.locator(".case-tools .late")
    late.wait_for()
    assert "已经超期" in late.inner_text()
    late.scroll_into_view_if_needed()
    s.check("late-step")
    s.tap(late.get_by_role("button", name="催办（督促加快办理）"), name="urge")
    before = len(printed_slips(hall, "催办回执"))
    s.tap("提交催办")
    page.locator("#complaint-receipt").wait_for(timeout=15_000)
    s.check("urge-receipt")
    number = page.locator(".receipt-no").inner_text()
    assert number.startswith("CB") and "投诉电话 12345" in page.locator("main").inner_text()
    assert "回执已打印" in page.locator("main").inner_text()
    s.tap("再打印一张回执")
    slips = wait_until(lambda: (found := printed_slips(hall, "催办回执")) and len(found) >= before + 2 and found,
                       15, "the urge slip printed twice")
    assert any(line.startswith("回执编号") and line.endswith(number) for line in slips[-1]["text"])

    finish(s)
    card = my_case(s, hall, code)
    s.tap(card.get_by_role("button", name="投诉", exact=True))
    page.locator("#casefile").wait_for()
    s.tap("服务态度")
    s.tap("写几句说明（可不填）")
    s.pinyin(("taidu", "态度"), ("cha", "差"))
    s.tap("需要回访")
    s.keypad("13800000002")
    s.check("complaint-form")
    s.tap("提交投诉")
    page.locator("#complaint-receipt").wait_for(timeout=15_000)
    s.check("complaint-receipt")
    number = page.locator(".receipt-no").inner_text()
    assert number.startswith("TS")
    row = hall.rows("SELECT * FROM complaints WHERE receipt_no = ?", (number,))[0]
    assert (row["kind"], row["category"], row["text"], row["callback_phone"]) == (
        "complaint", "attitude", "态度差", "13800000002")
    assert "511902198806120319" not in page.content()


def test_urging_from_a_scanned_notice_asks_for_the_card(hall, screens):
    s, page = screens, screens.page
    code = hall.submit(ZHANG)
    home(s, hall)
    hall.stack.scanner.send(f"scan {receipt_url(code)}")
    page.locator("#progress").wait_for(timeout=15_000)
    s.tap("催办", exact=False)  # the plain or the prominent one, as central's clock has it
    page.locator("#wait-card").wait_for()
    assert format_query_code(code) in page.locator("main").inner_text()  # which case, as printed
    s.check("urge-needs-card")
    hall.present(ZHANG)
    page.get_by_role("button", name="提交催办").wait_for(timeout=15_000)
    s.tap("提交催办")
    page.locator("#complaint-receipt").wait_for(timeout=15_000)
    assert page.locator(".receipt-no").inner_text().startswith("CB")


def test_withdraw_a_case_not_yet_accepted_asks_first(hall, screens):
    s, page = screens, screens.page
    accepted = hall.submit(ZHANG)
    waiting = hall.submit(ZHANG, paper=("M03",))  # an original to show at the window: 预审, not accepted
    hall.central(f"status {waiting} received")  # until the window checks it, whatever central's clock does
    home(s, hall)
    card = my_case(s, hall, accepted)
    assert card.get_by_role("button", name="撤回申请").count() == 0  # accepted: no 撤回 here
    printed = len(jobs_with_qr(hall, accepted))  # the one of the submission
    s.tap(card.get_by_role("button", name="打印受理通知书"))  # its 受理通知书 again, from 我的办件
    notice = wait_until(lambda: len(found := jobs_with_qr(hall, accepted)) > printed and found[-1], 15,
                        "the 受理通知书 printed again")
    assert notice["text"][0] == "受理通知书" and "511902198806120319" not in "\n".join(notice["text"])
    card = page.locator("#my-cases .card", has_text=format_query_code(waiting))
    s.tap(card.get_by_role("button", name="撤回申请"))
    page.locator("#withdraw").wait_for()
    s.tap("暂不办理", name="withdraw")
    s.tap("撤回这件申请")
    page.get_by_role("alertdialog").wait_for()
    s.check("withdraw-ask")
    s.tap("不撤回")
    page.get_by_role("alertdialog").wait_for(state="detached")
    assert hall.case(waiting)["status"] == "received"  # nothing happened
    s.tap("撤回这件申请")
    s.tap("确定撤回")
    page.locator("#withdraw-result").get_by_text("已撤回").wait_for(timeout=15_000)
    s.check("withdrawn")
    assert hall.case(waiting)["status"] == "withdrawn"


def test_correction_with_the_document_camera(hall, screens):
    s, page = screens, screens.page
    code = hall.submit(ZHANG)
    hall.central(f"correction {code} M03 请补充清晰的经营场所使用证明")
    home(s, hall)
    card = my_case(s, hall, code)
    card.get_by_text("需要补正材料").first.wait_for()
    s.tap(card.get_by_role("button", name="补正材料（用高拍仪拍照）"))
    page.locator("#correct").wait_for(timeout=15_000)
    assert "请补充清晰的经营场所使用证明" in page.locator("#correct").inner_text()
    assert page.get_by_text("每份材料都拍好以后，才能提交。").is_visible()
    s.tap("拍一页")
    page.get_by_role("img", name=re.compile("第 1 页")).wait_for(timeout=20_000)
    s.check("correction-captured")
    s.tap("提交补正材料")
    page.locator("#correction-result").get_by_text("补正材料已提交").wait_for(timeout=20_000)
    s.check("correction-done")
    assert wait_until(lambda: hall.case(code)["status"] == "accepted", 15, "the case accepted again")
    answered = hall.rows("SELECT correction_id FROM corrections WHERE code = 'M03' AND case_id = ?",
                         (hall.case(code)["case_id"],))
    assert answered and answered[0]["correction_id"]
