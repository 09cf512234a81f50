"""The idle screen in a real Chromium: with nobody at the terminal the page dims after ``web.idle_after_s``;
the IO board's presence sensor (someone steps up) wakes it, and so does a touch, without pressing what lies
under the picture."""
from __future__ import annotations

import pytest

from kiosk.app import Ports

pytestmark = pytest.mark.browser


def test_idle_screen_dims_and_presence_or_a_touch_wakes_it(make_kiosk, page):
    kiosk = make_kiosk(Ports(), env={"KIOSK_WEB_IDLE_AFTER_S": "2", "KIOSK_DEVICE_SITE_NAME": "示例县政务服务中心"})
    page.goto(kiosk.url)
    page.locator("#btn-large").wait_for()
    idle = page.locator("#idle")
    idle.wait_for(state="visible", timeout=20_000)
    assert "请触摸屏幕开始" in idle.inner_text() and "示例县政务服务中心" in idle.inner_text()
    assert kiosk.kiosk.sessions.current is None  # dimming is the page's business: no session involved

    kiosk.call(lambda: kiosk.kiosk.on_io_event("presence", "on"))  # someone steps up to the terminal
    idle.wait_for(state="hidden", timeout=10_000)
    assert kiosk.kiosk.sessions.current is None  # presence alone starts no session

    box = page.locator("#screen .chips button").first.bounding_box()  # a theme button of the home screen
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('button') !== null", [x, y])
    idle.wait_for(state="visible", timeout=20_000)
    url = page.url
    page.touchscreen.tap(x, y)
    idle.wait_for(state="hidden", timeout=10_000)
    assert page.url == url  # the waking touch did not press the button under the picture
    page.touchscreen.tap(x, y)  # awake, the same touch does press it
    page.wait_for_function("(before) => location.href !== before", arg=url)


def test_no_idle_screen_when_switched_off(make_kiosk, page):
    kiosk = make_kiosk(Ports(), env={"KIOSK_WEB_IDLE_AFTER_S": "0"})
    page.goto(kiosk.url)
    page.locator("#btn-large").wait_for()
    page.wait_for_function("() => window.document.getElementById('idle') !== null")
    # The page's own idle check runs every second: after several runs it still has not dimmed.
    page.wait_for_timeout(3_500)
    assert page.locator("#idle").is_hidden()
