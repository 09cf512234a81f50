"""The agent flow on the touch screen, against the real stack with the shipped sample catalog, at both screen
shapes: a village agent logs in with card and PIN and submits 个人独资企业设立登记 for a resident; the item's
授权委托书 can only be photographed (not shared, not brought later); at the consent step the screen offers the
agent nothing to tap — the resident takes their own card off the reader and back, and only then taps their
own consent. Central receives the case with the agent, the consent and the scanned power of attorney."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulators.hall.stack import sample_file
from tests.browser.test_flows_ui import keypad, read_card, shown_code
from tests.browser.test_pickup_ui import central_envelope

pytestmark = [pytest.mark.browser, pytest.mark.integration]
AGENT_CARD, RESIDENT_CARD = 1, 0  # 欧阳晓雯 is agent AG-0031 (PIN 123456); 张伟 the resident
POWER = "委托代理人身份证件及授权委托书"


@pytest.fixture(scope="module")
def catalog_file() -> Path:
    """The catalog the simulators ship: its situations name the material that is the 授权委托书."""
    return sample_file("catalog-sample.json")


def test_the_resident_consents_by_their_own_tap_after_their_card_is_read_again(make_kiosk, any_screens, stack):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk(stack.ports(), env={"KIOSK_SITE_ID": "511902-HALL-01", "KIOSK_SESSION_ACK_WAIT_S": "10"})
    page.goto(kiosk.url + "#/agent")
    read_card(stack, page, AGENT_CARD, "已读身份证：欧**雯")
    keypad(page, 0, "0031")
    keypad(page, 1, "123456")
    s.tap("登录")
    page.get_by_role("heading", name="代办员工作台").wait_for(timeout=15_000)
    stack.idcard.send("remove")  # the agent keeps their own card

    page.goto(kiosk.url + "#/item/511900-XK-0001")
    s.tap("为群众代办申报")
    read_card(stack, page, RESIDENT_CARD, "群众：张*")
    s.tap(page.locator("button.item-link", has_text="个人独资企业设立登记"))
    page.get_by_text("请为每份材料选择提交方式").first.wait_for()

    # The 授权委托书: photographed here, the only way offered.
    power = page.locator("main .card.material", has_text=POWER)
    power.get_by_text("代办须拍照上传申请人本人签字的授权委托书").wait_for()
    assert [b.strip() for b in power.locator(".row .btn").all_inner_texts()] == ["用高拍仪拍照"]
    power.scroll_into_view_if_needed()
    s.check("power-of-attorney")
    cards = page.locator("main .card.material")
    for i in range(cards.count()):
        card = cards.nth(i)
        if card.locator(".btn.selected").count():
            continue
        if POWER in card.inner_text():
            s.tap(card.get_by_role("button", name="用高拍仪拍照"))
            s.tap(card.get_by_role("button", name="拍一页"))
            card.get_by_role("img", name="第 1 页").wait_for(timeout=20_000)
        else:
            s.tap(card.get_by_role("button", name="带原件到窗口"))
            card.locator(".btn.selected").wait_for()
    s.tap("下一步")
    keypad(page, 0, "13800000000")
    s.tap("下一步")
    s.tap("窗口领取")
    page.locator("#pickup-chosen").wait_for()
    s.tap("下一步")

    # Consent: nothing for the agent to tap, the screen asks for the resident's own card again.
    wait = page.locator("#consent-wait")
    wait.get_by_text("请申请人 张* 拿起自己的身份证，再放回读卡区").wait_for()
    assert page.get_by_role("button", name=re.compile("同意")).count() == 0
    assert page.get_by_role("button", name="下一步").count() == 0
    s.check("consent-ask-resident")
    read_card(stack, page, RESIDENT_CARD, "已读到申请人 张* 的身份证")
    s.check("consent-resident")
    s.tap("我本人（张*）已了解并同意")
    page.locator("#consent-given").get_by_text("✔ 已同意（申请人 张* 本人确认）").wait_for()
    s.tap("下一步")
    page.get_by_text("请核对后提交").first.wait_for()
    page.locator("#pre-review").get_by_text("提交后打印的是预审回执").wait_for()  # originals go to the window
    s.check("confirm")
    s.tap("✔ 确认提交")

    page.get_by_text("已提交，请到窗口核验原件").first.wait_for(timeout=30_000)
    page.get_by_text("预审回执已打印").first.wait_for()
    assert "代办员：欧**雯" in page.locator("#result").inner_text()
    s.check("result")
    envelope = central_envelope(stack, shown_code(page))
    assert envelope["channel"] == "agent" and envelope["agent"]["agent_id"] == "AG-0031"
    assert envelope["consent"]["at"]
    scanned = [m for m in envelope["materials"] if m["source"] == "scan"]
    assert [m["code"] for m in scanned] == ["M04"] and scanned[0]["blob"]["pages"] == 1
