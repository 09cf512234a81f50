"""The query parser and search take any string a person (or a stray scan, or a hostile page) can send:
each gives items or a clear "no result", never an exception (property-based)."""
from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kiosk.catalog.query import QUERY_MAX, Script, fold, fold_initials, normalise, parse_query

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=200)  # surrogates, controls included
TYPED = st.one_of(ANY_TEXT, st.text(alphabet="abcdefghijklmnopqrstuvwxyz ZHSNG'", max_size=50),
                  st.text(alphabet="社保卡准生证营业执照户口我要办（）！ ", max_size=50))


@settings(max_examples=500, deadline=None)
@given(TYPED)
@example("\ud800yyzz")          # a lone surrogate
@example("Ｙ Ｙ Ｚ Ｚ")            # full-width letters from an IME
@example("﷽" * 40)              # one character that normalises to 18
@example("İstanbul")            # lower() makes it longer
def test_any_string_parses_to_a_clean_query(typed):
    q = parse_query(typed)
    assert len(q.text) <= QUERY_MAX
    assert re.fullmatch(r"[^\W_]*", q.text)
    assert q.text == normalise(q.text)  # parsing is idempotent
    assert (q.script is Script.EMPTY) == (q.text == "")
    assert (q.script is Script.LATIN) == bool(re.fullmatch(r"[a-z]+", q.text))
    if q.script is Script.LATIN:
        assert q.folded == fold(q.text) and q.folded_initials == fold_initials(q.text)


def test_full_width_and_spacing_do_not_matter():
    assert parse_query("Ｙ Ｙ Ｚ Ｚ").text == parse_query(" yyzz ").text == "yyzz"
    assert parse_query("营业 执照！").text == "营业执照"
    assert parse_query("ying'ye zhi-zhao").text == "yingyezhizhao"


def test_non_strings_parse_as_empty():
    assert parse_query(None).empty  # type: ignore[arg-type]  # a JSON null from a page


@settings(max_examples=500, deadline=None)
@given(TYPED, st.integers(1, 50))
def test_search_gives_items_or_a_clear_no_result(aliased, typed, limit):
    result = aliased.find(typed, limit)
    assert result.no_result == (len(result.found) == 0)
    assert len(result.found) <= limit
    assert all(aliased.items[f.item.code] is f.item for f in result.found)
    assert len({f.item.code for f in result.found}) == len(result.found)
    scores = [f.score for f in result.found]
    assert scores == sorted(scores, reverse=True)
    if result.query.empty:
        assert result.no_result
