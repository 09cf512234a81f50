"""Consulting in a real headless Chromium against the real server: home, search (pinyin initials), the item
page, large-text mode and legibility rules, every screen's way home, reconnection after a restart."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

# Every visible button and tile: at least 60 px high and wide; body text at least 24 px.
MEASURE = """() => {
  const small = [];
  for (const el of document.querySelectorAll('button, .tile, input')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.height < 60 || r.width < 60) small.push(el.textContent.trim().slice(0, 20) + ' ' + r.width + 'x' + r.height);
  }
  const tiny = [];  // text smaller than the body minimum of 24 px
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (own && el.getBoundingClientRect().width > 0 && parseFloat(getComputedStyle(el).fontSize) < 24)
      tiny.push(el.textContent.trim().slice(0, 20));
  }
  return {small, tiny, body: parseFloat(getComputedStyle(document.body).fontSize)};
}"""

# Contrast of text against its nearest opaque background, for every element with its own text.
CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                       if (c.length === 3 || c[3] > 0.9) return c.slice(0, 3); } return [255, 255, 255]; };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const r = el.getBoundingClientRect();
    if (!own || r.width === 0) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(el.textContent.trim().slice(0, 20) + ' ' + ratio.toFixed(2));
  }
  return bad;
}"""


def wait_connected(page):
    page.wait_for_function("() => document.getElementById('hotline').textContent.includes('12345')")


def test_consult_search_and_item_page(make_kiosk, page, artifacts_dir):
    kiosk = make_kiosk()
    page.goto(kiosk.url)
    wait_connected(page)
    page.get_by_text("按窗口类别").wait_for()
    page.screenshot(path=str(artifacts_dir / "01-home.png"), full_page=True)
    assert page.evaluate(CONTRAST) == []

    page.get_by_role("searchbox").fill("yyzz")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.get_by_text("“yyzz”的搜索结果").wait_for()
    first = page.locator(".item-link").first
    assert "营业执照" in first.inner_text()
    page.screenshot(path=str(artifacts_dir / "02-search-yyzz.png"), full_page=True)

    first.click()
    page.get_by_role("heading", name=re.compile("企业变更登记")).wait_for()
    assert page.locator("table").count() == 1
    assert "免提交" in page.locator("table").inner_text() or page.locator("table tr").count() > 1
    page.get_by_role("tab").nth(1).click()
    page.screenshot(path=str(artifacts_dir / "03-item.png"), full_page=True)
    measured = page.evaluate(MEASURE)
    assert measured["small"] == [] and measured["tiny"] == []
    assert page.evaluate(CONTRAST) == []

    page.get_by_role("button", name="返回首页").click()
    page.get_by_text("按窗口类别").wait_for()


def test_browse_by_theme_and_department(make_kiosk, page, artifacts_dir):
    kiosk = make_kiosk()
    page.goto(kiosk.url)
    page.get_by_role("button", name="婚姻登记").click()
    page.get_by_role("button", name=re.compile("结婚登记")).wait_for()
    page.screenshot(path=str(artifacts_dir / "theme.png"), full_page=True)
    page.get_by_role("button", name="返回首页").click()
    page.get_by_role("button", name="示例市公安局").click()
    page.get_by_role("button", name=re.compile("户口迁移")).wait_for()


def test_large_text_mode_and_touch_targets(make_kiosk, page, artifacts_dir):
    kiosk = make_kiosk()
    page.goto(kiosk.url)
    page.get_by_text("按窗口类别").wait_for()
    normal = page.evaluate(MEASURE)
    assert normal["body"] >= 24 and normal["small"] == [] and normal["tiny"] == []
    page.get_by_role("button", name=re.compile("大字模式")).click()
    large = page.evaluate(MEASURE)
    assert large["body"] >= 32 and large["small"] == []
    assert page.get_by_role("button", name=re.compile("标准字号")).get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="企业设立登记", exact=False).count()
    page.goto(kiosk.url + "#/item/511900-GG-0001")
    page.get_by_role("heading", name=re.compile("居民身份证")).wait_for()
    assert page.evaluate(MEASURE)["body"] >= 32  # the mode stays while the person browses
    page.screenshot(path=str(artifacts_dir / "large-item.png"), full_page=False)


def test_page_reconnects_after_the_service_restarts(make_kiosk, page):
    kiosk = make_kiosk()
    page.goto(kiosk.url + "#/item/511900-XK-0001")
    page.get_by_role("heading", name="企业设立登记").wait_for()
    wait_connected(page)
    kiosk.stop()
    page.get_by_text("正在连接终端服务").wait_for(timeout=15_000)
    kiosk.start()
    # A new server boot: the page clears what it held and comes back home by itself, connected.
    page.get_by_text("按窗口类别").wait_for(timeout=20_000)
    page.get_by_text("正在连接终端服务").wait_for(state="detached", timeout=20_000)
    page.get_by_role("searchbox").fill("jhdj")
    page.keyboard.press("Enter")
    page.get_by_role("button", name=re.compile("结婚登记")).wait_for()


def test_code_keypad_can_type_every_check_symbol(make_kiosk, page, artifacts_dir):
    kiosk = make_kiosk()
    page.goto(kiosk.url + "#/follow")
    pad = page.locator(".keypad").first
    for key in "0Z*~$=U":
        pad.get_by_role("button", name=key, exact=True).click()
    assert page.locator(".entry").first.inner_text() == "0Z*~-$=U"
    for letter in "ILO":  # not in Crockford's alphabet: no key, so no mistyped code
        assert pad.get_by_role("button", name=letter, exact=True).count() == 0
    page.screenshot(path=str(artifacts_dir / "follow.png"), full_page=True)
    assert page.evaluate(MEASURE) | {"body": 0} == {"small": [], "tiny": [], "body": 0} and page.evaluate(CONTRAST) == []
