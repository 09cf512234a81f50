"""好差评 on the touch screen, against the real stack (mosquitto, central simulator, device simulators, real
drivers and sync), at both screen shapes: a queue ticket is evaluated 非常不满意 — the reason from the list is
required before it is sent, the call-back consent takes a phone number on the keypad — central receives the
evaluation with its reason and call-back, and the same ticket is not offered a second time; a consultation
visit that printed a checklist is offered its evaluation too."""
from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser.test_navigation_ui import central_events

pytestmark = [pytest.mark.browser, pytest.mark.integration]
IN_VIEW = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  const main = document.getElementById('screen').getBoundingClientRect();
  return r.top >= main.top && r.top < main.bottom;
}"""


def wait_for_event(stack, kind: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while not (found := central_events(stack.tmp / "central.db", kind)):
        assert time.monotonic() < deadline, f"central never received a {kind}"
        time.sleep(0.3)
    return json.loads(found[-1])


def test_a_bad_ticket_evaluation_needs_a_reason_and_is_given_once(make_kiosk, any_screens, stack):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk(stack.ports())
    page.goto(kiosk.url + "#/queue")
    s.tap(page.get_by_role("button", name=re.compile("社会事务")))
    page.get_by_text("取号成功").first.wait_for(timeout=15_000)
    number = page.locator(".big-number").inner_text()
    offer = page.get_by_role("button", name=f"评价这次取号服务（取号 {number}）")
    s.tap(offer, name="ticket-offer")

    # Five levels by their national names, best first; no score numbers.
    levels = page.locator(".levels .btn")
    assert [levels.nth(i).get_attribute("aria-label") for i in range(levels.count())] == \
        ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    s.check("levels")
    s.tap("非常不满意")
    page.locator("#reasons").wait_for()
    s.tap("提交评价")  # no reason yet: refused on the screen, nothing sent
    page.locator("#toast", has_text="请选择不满意的原因").wait_for()
    assert central_events(stack.tmp / "central.db", "service.evaluation") == []
    s.tap("等候时间太长")
    # The refusal is answered: its message and its spoken caption (没有办成…) go at once instead of
    # lingering over the corrected screen.
    caption = page.locator("#voice-caption")
    assert page.locator("#toast").is_hidden()
    assert caption.is_hidden() or caption.get_attribute("data-key") != "error"
    s.tap("需要回访")
    # The choice redraws the screen where the person is looking: the phone keypad it opened is in view.
    page.locator("#callback .keypad").wait_for()
    page.wait_for_timeout(100)  # the redraw restores the scroll position right after it appended the screen
    assert page.evaluate(IN_VIEW, "#callback .keypad"), "the screen jumped away from the call-back"
    s.keypad("13800000000")
    page.locator("#callback .entry").get_by_text("13800000000").wait_for()
    s.check("bad-with-reason-and-callback")
    s.tap("提交评价")
    page.get_by_text("感谢您的评价！工作人员会尽快与您联系。").wait_for(timeout=15_000)
    page.get_by_text("回访电话：138****0000").wait_for()
    s.check("thanks")
    sent = wait_for_event(stack, "service.evaluation")
    assert sent["service"]["kind"] == "ticket" and sent["service"]["ref"].endswith(f":SOC:{number}")
    assert sent["level"] == 1 and sent["level_name"] == "非常不满意" and sent["reasons"] == ["wait_long"]
    assert sent["callback"] == {"consent": True, "phone": "13800000000"}

    # Back on the ticket: the same service is not offered again, and the screen says why.
    s.tap("返回")
    page.get_by_text("已评价过，每项服务只能评价一次").wait_for()
    assert offer.count() == 0
    s.check("ticket-evaluated")


def test_a_consultation_visit_is_offered_after_the_checklist_prints(make_kiosk, screens, stack):
    """Not only cases and tickets: a visit that printed a checklist is a completed service too."""
    s, page = screens, screens.page
    kiosk = make_kiosk(stack.ports())
    page.goto(kiosk.url + "#/item/511900-XK-0004")
    s.tap("打印材料清单")
    offer = page.get_by_role("button", name="评价这次服务（咨询：食品经营许可）")
    offer.wait_for(timeout=20_000)
    s.tap(offer)
    s.tap("基本满意")
    assert page.locator("#reasons").count() == 0
    s.tap("提交评价")
    page.get_by_text("感谢您的评价！").wait_for(timeout=15_000)
    sent = wait_for_event(stack, "service.evaluation")
    assert sent["service"]["kind"] == "visit" and sent["level_name"] == "基本满意" and sent["reasons"] == []
    assert sent["callback"]["consent"] is False and not sent["callback"].get("phone")  # no call-back asked
