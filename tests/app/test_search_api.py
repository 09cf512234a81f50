"""``GET /api/search?q=`` over the real server: the fields the screens already read stay as they were;
each item says what matched; no result answers with the categories, themes and 呼叫工作人员, never an
empty dead end; any query string gets a 200 answer (property-based)."""
from __future__ import annotations

import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app.test_web_api import call, server  # noqa: F401  (the fixture)


def search(server, q: str):  # noqa: F811
    return call(server, "GET", "/api/search?q=" + urllib.parse.quote(q, safe=""))


def test_items_keep_their_fields_and_say_what_matched(server):  # noqa: F811
    status, body = search(server, "准生证")
    assert status == 200 and body["query"] == "准生证" and body["no_result"] is False
    first = body["items"][0]
    assert {"code", "name", "category", "department", "promised_days", "online_level"} <= set(first)
    assert first["code"] == "511900-GG-0003"
    assert first["match"] == {"kind": "word", "how": "equal", "term": "准生证"}
    assert "categories" not in body  # only a miss carries the ways out


def test_no_result_offers_categories_themes_and_staff(server):  # noqa: F811
    status, body = search(server, "qqqqqq")
    assert status == 200 and body["items"] == [] and body["no_result"] is True
    assert [c["code"] for c in body["categories"]] == ["SOC", "ECO", "CON"]
    assert body["themes"] and body["call_staff"] is True
    assert "qqqqqq" in body["message"] and "呼叫工作人员" in body["message"]
    status, body = search(server, "")
    assert body["no_result"] is True and body["categories"] and "请输入" in body["message"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_any_query_gets_an_answer(server, q):  # noqa: F811
    status, body = search(server, q)
    assert status == 200
    assert isinstance(body["items"], list) and body["no_result"] == (body["items"] == [])
    assert body["no_result"] is False or body["categories"]
