"""Navigation that never loses anything, in a real Chromium touched only: the countdown dialog takes the
touch itself (继续办理 restarts the timer, 结束 ends the session at once, a touch on it never reaches the
control beneath), a fresh visitor starts with fresh history, 上一步 goes back one screen, help on the locked
screen reaches central, and the spoken prompts with their caption and sound control."""
from __future__ import annotations

import re
import sqlite3
import time

import pytest

from kiosk.app import Ports
from tests.app.doubles import FakeClock
from tests.browser.test_consult_ui import wait_connected

pytestmark = pytest.mark.browser

CENTER = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                       return [r.x + r.width / 2, r.y + r.height / 2]; }"""


def hash_of(page) -> str:
    return page.evaluate("() => location.hash")


def test_countdown_dialog_takes_the_touch_itself(make_kiosk, any_screens):
    s, page = any_screens, any_screens.page
    clock = FakeClock()
    kiosk = make_kiosk(clock=clock)
    page.goto(kiosk.url)
    wait_connected(page)
    s.tap("婚姻登记")
    s.tap(page.locator(".item-link", has_text="结婚登记"))
    page.locator(".main-action").wait_for()
    assert kiosk.call(lambda: kiosk.kiosk.sessions.current) is not None
    where = hash_of(page)

    clock.advance(46)
    dialog = page.locator("#countdown")
    dialog.wait_for()
    s.check("countdown")
    # A touch on the shaded backdrop right over 返回首页 and over the print button: nothing beneath moves.
    for target in ("#btn-home", ".main-action .btn"):
        x, y = page.evaluate(CENTER, target)
        assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('#layers') !== null", [x, y])
        page.touchscreen.tap(x, y)
    page.wait_for_timeout(300)
    assert dialog.is_visible() and hash_of(page) == where
    assert kiosk.call(lambda: kiosk.kiosk.sessions.current.warned) is True  # the backdrop is no activity

    s.tap(dialog.get_by_role("button", name="继续办理"))  # over the item page's controls
    dialog.wait_for(state="detached")
    assert hash_of(page) == where
    page.wait_for_function("() => !document.getElementById('shell').inert")
    deadline = time.monotonic() + 10
    while kiosk.call(lambda: kiosk.kiosk.sessions.current.warned):  # the timer restarted on the server
        assert time.monotonic() < deadline
        time.sleep(0.1)

    clock.advance(46)
    dialog.wait_for()
    s.tap(dialog.get_by_role("button", name="结束，返回首页"))
    page.get_by_text("按窗口类别").first.wait_for()  # at once, long before the 60 s reset
    assert kiosk.call(lambda: kiosk.kiosk.sessions.current) is None
    assert hash_of(page) in ("", "#/home")


def test_a_fresh_visitor_has_fresh_history_and_back_goes_one_screen(make_kiosk, screens):
    s, page = screens, screens.page
    kiosk = make_kiosk()
    page.goto(kiosk.url)
    wait_connected(page)
    length = page.evaluate("() => history.length")
    assert page.locator("#btn-back").is_disabled()
    s.tap("婚姻登记")
    s.tap(page.locator(".item-link", has_text="结婚登记"))
    page.locator(".main-action").wait_for()
    s.tap(page.locator(".tab, [role=tab]").first)
    s.tap("上一步")
    page.locator(".item-link", has_text="结婚登记").wait_for()  # one screen back: the theme's list
    s.tap("上一步")
    page.get_by_text("按窗口类别").first.wait_for()
    s.tap(page.locator(".tile", has_text="取号排队"))
    page.get_by_text("请选择要去的窗口类别").first.wait_for()
    assert page.evaluate("() => history.length") == length  # the browser's history never grew

    kiosk.call(lambda: kiosk.kiosk.sessions.end())  # the visitor leaves (as the reset after the timeout)
    page.wait_for_function("() => location.search === '' && document.querySelector('.tiles')")
    page.get_by_text("按窗口类别").first.wait_for()
    assert page.evaluate("() => history.length") == length
    assert page.locator("#btn-back").is_disabled() and page.locator("#btn-home").is_disabled()


def central_events(db, kind: str) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT payload FROM events WHERE type = ?", (kind,))]
    finally:
        conn.close()


def test_help_on_the_locked_screen_reaches_central(make_kiosk, screens, stack):
    s, page = screens, screens.page
    kiosk = make_kiosk(stack.ports())
    page.goto(kiosk.url)
    wait_connected(page)
    kiosk.call(lambda: kiosk.kiosk.services.maintenance.set_locked("维护"))
    page.get_by_text("本机暂停服务").first.wait_for()
    s.check("locked")
    s.tap("呼叫工作人员")
    page.locator("#help-dialog").get_by_text("已通知工作人员").wait_for()
    s.check("locked-help")
    s.tap("回到刚才的页面")
    page.get_by_text("本机暂停服务").first.wait_for()  # back where the person was
    deadline = time.monotonic() + 20
    while not (found := central_events(stack.tmp / "central.db", "help.requested")):
        assert time.monotonic() < deadline, "central never heard the help call"
        time.sleep(0.3)
    assert '"source":"screen"' in found[0].replace(" ", "")


def test_spoken_prompts_with_caption_and_sound_control(make_kiosk, screens):
    s, page = screens, screens.page
    kiosk = make_kiosk(Ports())
    clips: list[tuple[str, int]] = []
    page.on("response", lambda r: clips.append((r.url.rsplit("/", 1)[-1], r.status))
            if "/gen/voice/" in r.url else None)
    page.goto(kiosk.url)
    wait_connected(page)
    s.tap(page.locator(".tile", has_text="搜索事项"))
    caption = page.locator("#voice-caption")
    caption.get_by_text("请在屏幕键盘上输入事项名称的拼音").wait_for()
    page.wait_for_function("() => document.getElementById('voice-caption').dataset.spoken === 'search'")
    assert ("search.wav", 206) in clips or ("search.wav", 200) in clips  # 206: media asks by range

    for label in ("声音小", "静音"):
        s.tap(page.locator("#btn-voice"))
        page.locator("#btn-voice").get_by_text(label).wait_for()
    s.check("muted")
    before = len(clips)
    s.tap("返回首页")
    s.tap(page.locator(".tile", has_text="查询办件进度"))
    caption.get_by_text("请把受理通知书上的二维码对准扫描窗口").wait_for()  # the words still show
    page.wait_for_timeout(300)
    assert len(clips) == before  # but nothing is played


def test_a_terminal_without_clips_still_shows_every_prompt(make_kiosk, screens):
    s, page = screens, screens.page
    kiosk = make_kiosk(Ports())
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(re.compile(r".*/static/gen/voice/.*"), lambda route: route.fulfill(status=404, body="no clip"))
    page.goto(kiosk.url)
    wait_connected(page)
    s.tap(page.locator(".tile", has_text="查询办件进度"))
    page.locator("#voice-caption").get_by_text("请把受理通知书上的二维码对准扫描窗口").wait_for()
    assert page.locator("#voice-caption").get_attribute("data-spoken") is None and errors == []
