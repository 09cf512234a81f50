"""The catalog facts on the item page (issue 11) in a real Chromium against the real server and the shipped
sample catalog: legal and fee basis, 中介服务, 前置许可, 办理对象, the item's own window and floor, the village
points of a village item, and 0 days read as 即办 — at both screen shapes, reached by taps from the home screen."""
from __future__ import annotations

import pytest

from simulators.hall.stack import sample_file
from tests.browser.test_consult_ui import search_by_taps

pytestmark = pytest.mark.browser
HALL = {"KIOSK_SITE_ID": "511902-HALL-01"}


@pytest.fixture(scope="module")
def catalog_file():
    """The simulators' sample catalog: shared/data's plus village points and bundles."""
    return sample_file("catalog-sample.json")


def facts(page) -> dict[str, str]:
    rows = page.locator("#item-facts .fact")
    return {rows.nth(i).locator("dt").inner_text(): rows.nth(i).locator("dd").inner_text()
            for i in range(rows.count())}


def test_item_page_shows_the_catalog_facts(make_kiosk, any_screens):
    s, page = any_screens, any_screens.page
    kiosk = make_kiosk(env=HALL)
    page.goto(kiosk.url)
    search_by_taps(s, "spjy")  # 食品经营许可: fee basis, 前置许可, window check
    s.tap(page.locator(".item-link", has_text="食品经营许可").first)
    page.locator("#item-facts .fact").last.scroll_into_view_if_needed()
    s.check("food-licence")
    shown = facts(page)
    assert shown["办理时限"] == "法定 10个工作日，承诺 5个工作日"
    assert "第四十八条：不收取任何费用" in shown["收费依据"]
    assert shown["办理对象"] == "企业法人、个体工商户"
    assert shown["前置许可"] == "营业执照或其他主体资格证明" and shown["中介服务"] == "无"
    assert shown["办理地点"] == "食品经营许可窗口 2楼 18号窗口"
    assert "带原件到窗口核验" in shown["原件核验"]
    assert "《中华人民共和国食品安全法》第三十五条" in page.locator("#item-facts").inner_text()
    assert page.locator("#village-points").count() == 0

    search_by_taps(s, "ydys")  # 建设项目用地预审与选址意见书核发: 中介服务
    s.tap(page.locator(".item-link", has_text="用地预审").first)
    page.locator("#item-facts").wait_for()
    assert facts(page)["中介服务"] == "土地勘测定界（具备资质的测绘机构）"
    assert facts(page)["办理地点"] == "工程建设 3楼 25-32号窗口"  # no window of its own: its category's

    search_by_taps(s, "sydj")  # 生育登记: 即办, a village item
    s.tap(page.locator(".item-link", has_text="生育登记").first)
    page.locator("#village-points").scroll_into_view_if_needed()
    s.check("birth-registration")
    assert page.get_by_text("即办件", exact=True).is_visible()
    assert facts(page)["办理时限"].startswith("即办")
    points = page.locator("#village-points").inner_text()
    assert "江北街道示例村便民服务点" in points and "江北街道示例村村委会一楼" in points
    assert "东城街道示例社区便民服务点" in points and "诺江镇" not in points  # another hall's point
