"""Pickup method and place on the touch screen, against the real stack with the shipped sample catalog (its
village points and situation rules), at both screen shapes: a citizen looks at the village points of this
hall, then chooses mail and enters a structured address field by field — Chinese through the pinyin input,
numbers on keypads —; the confirmation, the result and the printed notice show the place, masked after the
county, and central receives the whole address. A card holder too young for a situation is told why before
anything is filled in."""
from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from edge_sync.querycode import receipt_url
from simulators.hall.stack import sample_file
from tests.browser.test_flows_ui import keypad, read_card, shown_code

pytestmark = [pytest.mark.browser, pytest.mark.integration]
SITE = {"KIOSK_SITE_ID": "511902-HALL-01", "KIOSK_SESSION_ACK_WAIT_S": "10"}
MASKED_PLACE = "四川省宜宾市徐州区****（收件人 张* 139****0000）"


@pytest.fixture(scope="module")
def catalog_file() -> Path:
    """The catalog the simulators ship: village points, bundles and the situations' rules."""
    return sample_file("catalog-sample.json")


def central_envelope(stack, code: str, timeout: float = 20.0) -> dict:
    """The case as central stored it (its envelope), once it arrived."""
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(f"file:{stack.tmp / 'central.db'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT envelope FROM cases WHERE query_code = ?", (code,)).fetchone()
        finally:
            conn.close()
        if row:
            return json.loads(row[0])
        assert time.monotonic() < deadline, f"central never received case {code}"
        time.sleep(0.3)


# Every key and the candidate row of the field being entered, as drawn when it opens: those not inside the
# part of the screen a person sees without scrolling (#screen above its sticky action row), and 确定 if it
# is not above the bottom bar. Measured with the caption line shown (one line, as a spoken prompt shows
# it): it is up whenever the terminal speaks, and must not push anything under the action row.
HIDDEN_PARTS = """() => {
  const caption = document.getElementById('voice-caption');
  const wasHidden = caption.hidden, wasText = caption.textContent;
  if (wasHidden) { caption.textContent = '请选择办好以后怎么领取。'; caption.hidden = false; }
  const view = document.getElementById('screen').getBoundingClientRect();
  const row = document.querySelector('#screen .actions').getBoundingClientRect();
  const bar = document.querySelector('nav.bottombar').getBoundingClientRect();
  const out = (r) => r.top < view.top - 0.5 || r.bottom > Math.min(view.bottom, row.top) + 0.5;
  const parts = [...document.querySelectorAll('#address-field .kbd button, #address-field .candidates')];
  const hidden = parts.filter((el) => out(el.getBoundingClientRect()))
    .map((el) => el.getAttribute('aria-label') || el.textContent);
  const ok = [...document.querySelectorAll('#screen .actions button')].find((b) => b.textContent.includes('确定'));
  if (!ok || ok.getBoundingClientRect().bottom > bar.top + 0.5) hidden.push('确定');
  const caption_bottom = caption.getBoundingClientRect().bottom;
  if (wasHidden) { caption.hidden = true; caption.textContent = wasText; }
  return {hidden, parts: parts.length, view: [view.top, view.bottom], row: row.top, caption: caption_bottom};
}"""


def enter_text(s, field: str, words: list[str], check: str | None = None) -> None:
    """Opens ``field`` of the address and enters ``words``: pinyin letters then the candidate to tap
    ("=x" taps the key x itself: a digit or 号); ``check``: the screen's name for a screenshot and axe.
    The whole keyboard, its candidate row and 确定 are in view as the field opens: taps scroll what they
    tap into view, a person does not know that a key is hidden below."""
    page = s.page
    s.tap(page.get_by_role("button", name=re.compile(f"^(填写|修改){re.escape(field)}$")))
    editor = page.locator("#address-field")
    editor.get_by_text("点字母拼出拼音").wait_for()
    try:   # the screen scrolls the field into view at its next frame
        page.wait_for_function(f"() => ({HIDDEN_PARTS})().hidden.length === 0", timeout=5000)
    except PlaywrightTimeout:
        pass   # the assertion below says what stayed hidden
    seen = page.evaluate(HIDDEN_PARTS)
    assert seen["parts"] > 40 and seen["hidden"] == [], (s.viewport, field, seen)
    for word in words:
        if word.startswith("="):
            editor.locator(f".kbd button[data-key='{word[1:]}'], .kbd button[data-key='符号 {word[1:]}']").first.tap()
            continue
        pinyin, chosen = word.split(":")
        s.letters(pinyin)
        s.tap(editor.get_by_role("button", name=f"候选 {chosen}"))
    if check:
        s.check(check)
    s.tap(f"确定{field}")


def choose_situation(s, item: str, card: int, masked: str, situation: str) -> None:
    page = s.page
    page.goto(s.kiosk_url + f"#/item/{item}")
    s.tap("我要在这里申报")
    read_card(s.stack, page, card, f"已读身份证：{masked}")
    s.tap(page.locator("button.item-link", has_text=situation))


def test_pickup_by_mail_after_looking_at_the_village_points(make_kiosk, any_screens, stack):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk(stack.ports(), env=SITE)
    s.kiosk_url, s.stack = kiosk.url, stack
    choose_situation(s, "511900-GG-0002", 0, "张*", "首次申领（成年人）")  # 社会保障卡申领: window, mail, village
    page.get_by_text("请为每份材料选择提交方式").first.wait_for()
    cards = page.locator("main .card.material")
    for i in range(cards.count()):
        if cards.nth(i).locator(".btn.selected").count() == 0:
            s.tap(cards.nth(i).get_by_role("button", name="用高拍仪拍照"))
            s.tap(cards.nth(i).get_by_role("button", name="拍一页"))
            cards.nth(i).get_by_role("img", name="第 1 页").wait_for(timeout=20_000)
    s.tap("下一步")
    keypad(page, 0, "13800000000")
    s.tap("下一步")

    # The village points of this hall, from the catalog: one is chosen, its address shown.
    s.tap("村（社区）便民服务点领取")
    points = page.locator("#village-points")
    points.get_by_text("江北街道示例村便民服务点").wait_for()
    assert "诺江镇示例村便民服务点" not in points.inner_text()  # another hall's point
    s.check("village-points")
    s.tap(points.locator("button.item-link", has_text="东城街道示例社区便民服务点"))
    page.locator("#pickup-chosen").get_by_text("东城街道示例社区便民服务点（东城街道示例社区服务中心）").wait_for()

    # Then mail after all: the address field by field, nothing typed on a keyboard.
    s.tap("邮寄送达")
    page.locator("#mail-address").wait_for()
    assert page.get_by_role("button", name="下一步").count() == 0  # not until the address is used
    enter_text(s, "收件人姓名", ["zhang:张", "ming:明"])
    s.tap("填写收件人手机号码")
    s.keypad("13900000000")
    s.tap("确定收件人手机号码")
    enter_text(s, "省（自治区、直辖市）", ["sichuansheng:四川省"])
    enter_text(s, "市（州）", ["yibin:宜宾", "shi:市"], check="address-field")
    enter_text(s, "区（县）", ["xuzhou:徐州", "qu:区"])
    enter_text(s, "乡镇（街道）", ["jiangbei:江北", "jiedao:街道"])
    enter_text(s, "村、街路门牌等详细地址", ["huayuan:花园", "lu:路", "=8", "=号"])
    form = page.locator("#mail-address").inner_text()
    assert "花园路8号" in form and "139****0000" in form and "13900000000" not in form
    s.check("address")
    s.tap("✔ 使用这个地址")
    page.locator("#pickup-chosen").get_by_text(MASKED_PLACE).wait_for()
    s.check("mail-chosen")
    s.tap("下一步")
    s.tap("我已了解并同意")
    s.tap("下一步")
    page.get_by_text("请核对后提交").first.wait_for()
    assert MASKED_PLACE in page.locator("main").inner_text()
    s.check("confirm")
    s.tap("✔ 确认提交")

    page.get_by_text("已提交，平台已受理").first.wait_for(timeout=30_000)
    page.get_by_text("受理通知书已打印").first.wait_for()
    result = page.locator("#result").inner_text()
    assert f"邮寄送达 ｜ {MASKED_PLACE}" in result and "承诺办结：5个工作日" in result
    if "不用再带原件" in result:   # the spoken words agree with the screen: no errand to a window
        page.locator("#voice-caption").get_by_text("不用再带原件").wait_for()
    else:
        page.locator("#voice-caption").get_by_text("带齐屏幕上列出的原件").wait_for()
    s.check("result")
    code = shown_code(page)
    printed = "\n".join(stack.job_with_qr(receipt_url(code))["text"])
    assert "受理通知书" in printed and "四川省宜宾市徐州区" in printed
    assert "花园路" not in printed and "13900000000" not in printed
    # Central has the whole address for the post (contract v1 pickup.detail), never the screen or paper.
    pickup = central_envelope(stack, code)["pickup"]
    assert pickup["method"] == "mail" and "四川省宜宾市徐州区江北街道花园路8号" in pickup["detail"]


def test_a_condition_the_card_shows_is_explained_before_anything_is_filled_in(make_kiosk, screens, stack):
    s, page = screens, screens.page
    kiosk = make_kiosk(stack.ports(), env=SITE)
    s.kiosk_url, s.stack = kiosk.url, stack
    choose_situation(s, "511900-GG-0002", 5, "陈*远", "首次申领（成年人）")  # born 2015
    refusal = page.locator("#not-eligible")
    refusal.get_by_text("不能在本机提交这个情形").wait_for()
    assert re.search(r"要求申请人年满18周岁。身份证显示申请人今年\d+周岁", refusal.inner_text())
    s.check("not-eligible")
    s.tap("看看其他情形")
    page.get_by_text("请选择符合您的情形").first.wait_for()
