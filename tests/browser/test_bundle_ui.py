"""一件事一次办 by taps in a real Chromium against the whole simulated stack: the bundle chosen from the home
screen, one pass through the wizard with the bundle's materials merged (a document both items ask for is
asked once), and one result and one printed notice listing a case per item, linked as one bundle at
central."""
from __future__ import annotations

import pytest

from edge_sync.querycode import parse_receipt_code, receipt_url
from tests.browser import hallstack
from tests.browser.conftest import Screens
from tests.browser.hallstack import ZHANG
from tests.browser.test_consult_ui import wait_connected
from tests.support.wait import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]
# One simulated hall for the module (hallstack.py) and a fresh visitor for each test.
catalog_file, hall, fresh_visitor = hallstack.catalog_file, hallstack.hall, hallstack.fresh_visitor


def through_the_wizard(s: Screens) -> None:
    """Materials (originals at the window), phone, the first pickup method, consent, then 确认提交."""
    page = s.page
    cards = page.locator("main .card.material")
    for i in range(cards.count()):
        card = cards.nth(i)
        if card.locator(".btn.selected").count() == 0:
            s.tap(card.get_by_role("button", name="带原件到窗口"))
            card.locator(".btn.selected").wait_for()
    s.tap("下一步")
    s.keypad("13800000000")
    s.tap("下一步")
    page.get_by_text("办好后怎么领取").first.wait_for()
    s.tap(page.locator("main .row .btn.big").first)
    s.tap("下一步")
    s.tap("我已了解并同意")
    s.tap("下一步")
    page.get_by_text("请核对后提交").first.wait_for()
    s.check("bundle-confirm")
    s.tap("确认提交", exact=False)


def test_a_bundle_gives_one_notice_listing_a_case_per_item(hall, screens):
    s, page = screens, screens.page
    page.goto(hall.url)
    wait_connected(page)
    s.tap(page.locator(".tile", has_text="一件事一次办"))
    bundle = page.locator("#bundles .card", has_text="开办小餐馆一件事")
    bundle.wait_for()
    assert "企业设立登记" in bundle.inner_text() and "食品经营许可" in bundle.inner_text()
    s.check("bundles")
    s.tap(bundle.get_by_role("button", name="办理：开办小餐馆一件事"))
    page.locator("#wait-card").wait_for()
    hall.present(ZHANG)
    page.get_by_text("请为每份材料选择提交方式").first.wait_for(timeout=15_000)
    line = page.locator("#bundle-line").inner_text()
    assert "开办小餐馆一件事" in line and "企业设立登记" in line and "食品经营许可" in line
    # The power of attorney both items list is asked once, for both.
    merged = page.locator("main .card.material", has_text="委托代理人身份证件及授权委托书")
    assert merged.count() == 1 and "2 个事项共用" in merged.inner_text()
    s.check("bundle-materials")
    through_the_wizard(s)

    cases = page.locator("#bundle-cases")
    cases.wait_for(timeout=30_000)
    s.check("bundle-result")
    items = cases.locator("li")
    assert items.count() == 2
    assert "企业设立登记" in items.nth(0).inner_text() and "食品经营许可" in items.nth(1).inner_text()
    codes: list[str] = []
    for i in range(2):
        code = parse_receipt_code(items.nth(i).locator(".code").inner_text())
        assert code, items.nth(i).inner_text()
        codes.append(code)
    assert codes[0] != codes[1]
    job = hall.stack.job_with_qr(receipt_url(codes[0]))  # one slip carries both cases' QR codes
    assert receipt_url(codes[1]) in job["qr"] and "511902198806120319" not in "\n".join(job["text"])
    links = wait_until(lambda: hall.rows("SELECT query_code, bundle_code FROM bundles WHERE query_code IN (?, ?)",
                                         tuple(codes)), 15, "the bundle linked at central")
    assert sorted(r["query_code"] for r in links) == sorted(codes) and {r["bundle_code"] for r in links} == {"B01"}
