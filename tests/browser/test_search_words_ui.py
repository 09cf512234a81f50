"""Search as people talk, on the screen and by taps only (issue 10): an everyday word in pinyin, a
dialect spelling with a typo, and initials, each leading to its item at both screen shapes. The catalog
is the platform's sample without aliases: the built-in everyday-words table alone (docs/search.md)."""
from __future__ import annotations

import pytest

from tests.browser.test_consult_ui import wait_connected

pytestmark = pytest.mark.browser

WORDS = [("zhunshengzheng", "生育登记", "准生证 in full pinyin"),
         ("sebaoka", "社会保障卡申领", "社保卡, sh said as s"),
         ("nongcunjianfan", "宅基地和农村村民住宅建设审批", "农村建房, ang said as an")]


def test_everyday_words_by_taps_find_their_items(make_kiosk, any_screens):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk()
    page.goto(kiosk.url)
    wait_connected(page)
    for n, (letters, item, what) in enumerate(WORDS):
        s.tap(page.locator(".tile", has_text="搜索事项"))
        s.letters(letters)
        page.locator("#live .item-link", has_text=item).first.wait_for()
        if n == 0:
            s.check("live-everyday-word")
        s.tap(page.locator(".kbd button[data-key='搜索']"))
        page.get_by_text(f"“{letters}”的搜索结果").first.wait_for()
        assert item in page.locator(".item-link").first.inner_text(), what
        if n == 1:
            s.check("results-dialect-word")
        s.tap(page.locator(".item-link").first)
        page.get_by_role("heading", name=item).wait_for()
        s.tap("返回首页")
        page.get_by_text("按窗口类别").first.wait_for()
