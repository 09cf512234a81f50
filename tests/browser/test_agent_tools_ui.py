"""The village agent's tools by taps in a real Chromium against the whole simulated stack: the green channel
(绿色通道) on the ticket screen only for an agent central registered for it, after their card and PIN, with
the number of cases; 本村办件 from central for the whole village point (a case another agent submitted on
another terminal), a 催办 and a 撤回 the agent does for their resident."""
from __future__ import annotations

import json
import re

import pytest

from edge_sync.querycode import format_query_code
from kiosk.catalog import load_catalog
from simulators.hall.stack import sample_file
from tests.browser import hallstack
from tests.browser.conftest import Screens
from tests.browser.hallstack import OUYANG, ZHAO
from tests.browser.test_consult_ui import wait_connected
from tests.services import terminal as other_terminal
from tests.support.wait import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]
# One simulated hall for the module (hallstack.py) and a fresh visitor for each test.
catalog_file, hall, fresh_visitor = hallstack.catalog_file, hallstack.hall, hallstack.fresh_visitor
VILLAGE_ITEM = ("511900-XK-0003", "S01")  # 个体工商户登记: pickup at a village point allowed


def home(s: Screens, hall) -> None:
    s.page.goto(hall.url)
    wait_connected(s.page)


def agent_login(s: Screens, hall, card: int, agent_id: str, pin: str) -> None:
    page = s.page
    s.tap(page.locator(".tile", has_text="代办员登录"))
    page.get_by_text("请代办员把本人身份证放在读卡区").first.wait_for()
    hall.present(card)
    page.locator(".keypad").nth(1).wait_for(timeout=15_000)
    s.keypad(agent_id, 0)
    s.keypad(pin, 1)
    s.tap("登录")
    page.locator("main h1", has_text="代办员工作台").wait_for(timeout=15_000)


def log_out(s: Screens) -> None:
    """退出登录 on the workbench: the session ends and the page loads afresh."""
    s.tap(s.page.locator(".tile", has_text="退出登录"))
    s.page.locator(".tile", has_text="代办员登录").wait_for(timeout=15_000)
    wait_connected(s.page)


def for_resident(other, paper: tuple[str, ...]) -> str:
    """A case the logged-in agent of terminal ``other`` submits for 向金花, her own consent after her card is
    read again; its query code."""
    other.card(other_terminal.XIANG)
    other.fill_draft(*VILLAGE_ITEM, paper=paper, pickup="village_point", point="511902-V-0001")
    other.services.submit.ask_resident_consent()
    other.remove_card()
    other.card(other_terminal.XIANG)
    other.services.submit.details(consent=True)
    return str(other.services.committer.commit()["notice"]["query_code"])


def queue_screen(s: Screens) -> None:
    s.tap(s.page.locator(".tile", has_text="取号排队"))
    s.page.get_by_role("button", name=re.compile("经济发展")).wait_for()


def test_green_channel_only_for_registered_agents(hall, screens):
    s, page = screens, screens.page
    home(s, hall)
    queue_screen(s)  # nobody identified
    assert page.locator("#green-channel").count() == 0 and "绿色通道" not in page.locator("main").inner_text()
    s.check("queue-citizen")
    s.tap("返回首页")
    agent_login(s, hall, OUYANG, "0031", "123456")  # a village agent central did not register for it
    queue_screen(s)
    assert page.locator("#green-channel").count() == 0
    s.tap("上一步")
    log_out(s)

    agent_login(s, hall, ZHAO, "0058", "654321")  # registered: up to 5 cases on one number
    s.check("workbench")
    queue_screen(s)
    green = page.locator("#green-channel")
    assert "2 到 5 件" in green.inner_text()
    s.check("green-offered")
    s.tap("使用绿色通道")
    assert green.locator(".code").inner_text() == "2"
    s.tap(page.get_by_role("button", name="增加一件"))
    green.locator(".code", has_text="3").wait_for()
    s.check("green-chosen")
    s.tap(page.get_by_role("button", name=re.compile("经济发展")))
    page.get_by_text("取号成功").first.wait_for(timeout=15_000)
    s.check("green-ticket")
    number = page.locator(".big-number").inner_text()
    assert number.startswith("V") and "绿色通道 ｜ 办理 3 件" in page.locator("main").inner_text()
    issued = wait_until(lambda: [e for e in (json.loads(r["payload"]) for r in hall.rows(
        "SELECT payload FROM events WHERE type = 'ticket.issued'")) if e["number"] == number], 15,
        "ticket.issued at central")
    assert (issued[0]["priority"], issued[0]["agent_id"]) == ("green", "AG-0058")
    assert hall.rows("SELECT cases FROM tickets WHERE number = ?", (number,))[0]["cases"] == 3


def test_village_cases_from_central_and_an_urge_for_a_resident(hall, screens, tmp_path):
    s, page = screens, screens.page
    # Another agent of the same village point submits for a resident on another terminal.
    other = other_terminal.Terminal(tmp_path / "other", hall.stack.broker.url,
                                    load_catalog(sample_file("catalog-sample.json")),
                                    other_terminal.central_keys(hall.stack.tmp / "keys"), device="KSK-511902-0009")
    try:
        other.agent(other_terminal.ZHOU, "0032", "112233")
        theirs, waiting = (for_resident(other, paper) for paper in ((), ("M03",)))  # the second: 预审, not accepted
    finally:
        other.stop()
    hall.case(theirs)
    hall.central(f"status {waiting} received")  # until the window checks it, whatever central's clock does

    home(s, hall)
    agent_login(s, hall, OUYANG, "0031", "123456")
    s.tap(page.locator(".tile", has_text="本村办件"))
    card = page.locator("#village-cases .card", has_text=format_query_code(theirs))
    card.wait_for(timeout=15_000)
    assert "江北街道示例村便民服务点" in page.locator("#village-cases").inner_text()
    assert "代办员 AG-0032" in card.inner_text() and "向*花" in card.inner_text()
    assert "500114197609180421" not in page.content()
    card.scroll_into_view_if_needed()
    s.check("village-cases")
    s.tap(card.get_by_role("button", name=re.compile("^催办")))
    s.tap("提交催办")  # the agent acts for the resident: no card asked
    page.locator("#complaint-receipt").wait_for(timeout=15_000)
    s.check("agent-urge-receipt")
    number = page.locator(".receipt-no").inner_text()
    assert hall.rows("SELECT agent_id FROM complaints WHERE receipt_no = ?", (number,))[0]["agent_id"] == "AG-0031"
    s.tap("返回本村办件")
    # 撤回 of the resident's case not yet accepted, by the agent (asked first).
    card = page.locator("#village-cases .card", has_text=format_query_code(waiting))
    s.tap(card.get_by_role("button", name="撤回申请"))
    s.tap("撤回这件申请")
    s.tap("确定撤回")
    page.locator("#withdraw-result").get_by_text("已撤回").wait_for(timeout=15_000)
    assert hall.case(waiting)["status"] == "withdrawn"
