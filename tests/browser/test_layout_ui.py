"""Every screen a visitor can reach without devices, at both screen shapes, touched only: the header and
the bottom bar stay in view while the screen scrolls, the main action is in view without scrolling, the
two larger text steps never wrap the header, and axe-core finds nothing (zoom lock aside)."""
from __future__ import annotations

import pytest

from tests.browser.test_consult_ui import CONTRAST, MEASURE

pytestmark = pytest.mark.browser

# Where the fixed parts and a screen's main action are, relative to the viewport.
BOXES = """(sel) => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; };
  const main = document.getElementById('screen');
  return {header: box(document.querySelector('.topbar')), bar: box(document.querySelector('.bottombar')),
          action: sel ? box(document.querySelector(sel)) : null, vh: innerHeight, vw: innerWidth,
          scrollable: main.scrollHeight > main.clientHeight + 4, scrollTop: main.scrollTop,
          // lines of text of each part of the header (a wrapped label has text boxes at two heights)
          headerLines: [...document.querySelectorAll('.topbar .site, .topbar .who, .topbar .btn')]
            .map((el) => {
            const range = document.createRange(); range.selectNodeContents(el);
            const tops = [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top));
            return new Set(tops).size; })};
}"""


def inside(box: dict, vh: float, vw: float) -> bool:
    return (box is not None and box["top"] >= 0 and box["bottom"] <= vh + 0.5
            and box["left"] >= 0 and box["right"] <= vw + 0.5)


def fixed_parts_in_view(page, action: str | None = None) -> dict:
    """Header and bar inside the viewport before and after scrolling the screen to its end; the main
    action (a CSS selector) inside the viewport without scrolling."""
    before = page.evaluate(BOXES, action)
    assert inside(before["header"], before["vh"], before["vw"]) and inside(before["bar"], before["vh"], before["vw"])
    if action:
        assert inside(before["action"], before["vh"], before["vw"]), (action, before)
        assert before["action"]["bottom"] <= before["bar"]["top"] + 0.5, "the main action is under the bottom bar"
    page.evaluate("() => { const m = document.getElementById('screen'); m.scrollTop = m.scrollHeight; }")
    after = page.evaluate(BOXES, None)
    assert after["header"] == before["header"] and after["bar"] == before["bar"], (before, after)
    page.evaluate("() => { document.getElementById('screen').scrollTop = 0; }")
    return before


def wait_home(page) -> None:
    page.get_by_text("按窗口类别").first.wait_for()
    page.get_by_text("正在连接终端服务").first.wait_for(state="detached")


def test_every_screen_fixed_bars_main_action_and_axe(make_kiosk, any_screens):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk()
    page.goto(kiosk.url)
    wait_home(page)
    s.check("home")
    fixed_parts_in_view(page, ".tiles .tile")
    assert page.evaluate(MEASURE) | {"body": 0} == {"small": [], "tiny": [], "body": 0}
    assert page.evaluate(CONTRAST) == []

    s.tap(page.locator(".tile", has_text="搜索事项"))
    page.locator(".kbd").wait_for()
    s.check("search-keyboard")
    fixed_parts_in_view(page, ".kbd button[data-key='搜索']")
    s.letters("hkqy")
    page.locator("#live .item-link").first.wait_for()
    s.check("search-live")
    s.tap("搜索")
    page.get_by_text("的搜索结果").first.wait_for()
    s.check("search-results")
    s.tap(page.locator(".item-link").first)
    page.locator(".main-action").wait_for()
    s.check("item")
    box = fixed_parts_in_view(page, ".main-action")
    assert box["scrollable"], "the item page is longer than the viewport: the scrolling must be proven"
    assert page.evaluate(MEASURE) | {"body": 0} == {"small": [], "tiny": [], "body": 0}

    s.tap("返回首页")
    wait_home(page)
    s.tap(page.locator(".tile", has_text="搜索事项"))
    s.letters("qqqx")
    page.locator("#no-result").wait_for()
    s.check("search-no-result")
    assert page.locator("#no-result").get_by_role("button", name="呼叫工作人员").count() == 1
    assert page.locator("#no-result .tile").count() >= 3  # the categories to browse instead

    # Each tile of the home screen: (tile, what shows its screen, name, its main action or None).
    for tile, shown, name, action in (
            ("查询办件进度", ".keypad", "follow", ".actions .btn.primary"),
            ("我的办件", "#wait-card", "my-cases-wait-card", None),
            ("取号排队", ".tiles .tile", "queue", ".tiles .tile"),
            ("代办员登录", "#wait-card", "agent-wait-card", None)):
        s.tap("返回首页")
        s.tap(page.locator(".tile", has_text=tile))
        page.locator(shown).first.wait_for()
        s.check(name)
        if action:
            fixed_parts_in_view(page, action)

    s.tap("呼叫工作人员")
    page.locator("#help-dialog").wait_for()
    s.check("help-dialog")
    s.tap("回到刚才的页面")
    page.locator("#wait-card").wait_for()

    # A screen's own spoken prompt goes with the screen, however quickly the person moves on: straight
    # back home from 查询办件进度, its caption (请把受理通知书上的二维码…) is not left under the home screen.
    s.tap("返回首页")
    wait_home(page)
    s.tap(page.locator(".tile", has_text="查询办件进度"))
    caption = page.locator("#voice-caption")
    page.locator("#voice-caption[data-key='scan_code']:visible").wait_for(timeout=5000)
    s.tap("返回首页")
    wait_home(page)
    assert caption.is_hidden() or caption.get_attribute("data-key") != "scan_code"


def test_two_text_steps_never_wrap_the_header(make_kiosk, any_screens):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk(env={"KIOSK_DEVICE_SITE_NAME": "示例市示例区政务服务中心便民服务大厅"})
    page.goto(kiosk.url)
    wait_home(page)
    header = page.locator(".topbar")
    height = header.bounding_box()["height"]
    sizes = []
    for step, label in enumerate(["特大字", "标准字号"], start=1):
        s.tap(page.locator("#btn-large"))
        page.locator("#btn-large").get_by_text(label).wait_for()
        sizes.append(page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)"))
        box = fixed_parts_in_view(page, ".tiles .tile")
        assert set(box["headerLines"]) <= {0, 1}, f"header wrapped at step {step}: {box['headerLines']}"
        assert header.bounding_box()["height"] == height
        measured = page.evaluate(MEASURE)
        assert measured["small"] == [] and measured["body"] >= 24
        s.check(f"text-step-{step}")
    assert sizes[0] > 24 and sizes[1] > sizes[0]
    s.tap(page.locator("#btn-large"))  # the third tap: back to the standard size
    page.locator("#btn-large").get_by_text("大字模式").first.wait_for()
    assert page.locator("#btn-large").get_attribute("aria-pressed") == "false"
