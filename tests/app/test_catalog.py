"""Catalog: loading, browsing, search by Hanzi, pinyin and initials, and clear errors for bad content."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.catalog import Catalog, CatalogError, load_catalog


def test_sample_loads_with_everything(sample_catalog):
    c = sample_catalog
    assert set(c.categories) == {"SOC", "ECO", "CON"}
    assert len(c.items) == 18 and len(c.departments) == 10 and len(c.themes) == 9
    item = c.item("511900-XK-0001")
    assert item.statutory_days == 3 and item.promised_days == 2
    m = item.situations[0].materials[0]
    assert m.form == "原件" and m.copies == 1


def test_browse_by_category_theme_department(sample_catalog):
    c = sample_catalog
    eco = {i.code for i in c.by_category("ECO")}
    assert "511900-XK-0001" in eco and all(c.items[x].category == "ECO" for x in eco)
    theme = [i.code for i in c.by_theme("T08")]
    assert theme[:4] == ["511900-XK-0001", "511900-XK-0002", "511900-XK-0003", "511900-XK-0004"]
    assert {i.department for i in c.by_department("GAJ")} == {"GAJ"}
    home = c.home()
    assert sum(cat["count"] for cat in home["categories"]) == 18


@pytest.mark.parametrize("query", ["yyzz", "营业执照", "YYZZ", "yingyezhizhao", " yyzz "])
def test_business_licence_found_every_way(sample_catalog, query):
    names = [i.name for i in sample_catalog.search(query)]
    assert names, query
    assert "营业执照" in names[0]


def test_name_matches_rank_before_material_matches(sample_catalog):
    names = [i.name for i in sample_catalog.search("身份证")]
    assert names[0] == "居民身份证申领（换领、补领）"
    assert len(names) > 1  # other items ask for an ID card among their materials


def test_initials_and_full_pinyin(sample_catalog):
    assert sample_catalog.search("jhdj")[0].name == "结婚登记"
    assert sample_catalog.search("jiehun")[0].name == "结婚登记"
    assert sample_catalog.search("hkqy")[0].name == "户口迁移"


def test_nothing_found_and_empty_query(sample_catalog):
    assert sample_catalog.search("qqqqqq") == []
    assert sample_catalog.search("") == []
    assert sample_catalog.search("（）!!") == []


def test_item_view_has_window_and_department(sample_catalog):
    view = sample_catalog.item_view(sample_catalog.item("511900-QR-0002"))
    assert view["window"]["floor"] == 1 and view["window"]["windows"] == "1–12"
    assert view["department_name"] == "示例市民政局"


@pytest.fixture(scope="module")
def raw_sample(catalog_file):
    return json.loads(catalog_file.read_text("utf-8"))


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.pop("items"), "'items' is missing"),
    (lambda d: d["items"][0].pop("name"), "511900-XK-0001: field 'name' is missing"),
    (lambda d: d["items"][0].__setitem__("promised_days", "2"), "wrong type"),
    (lambda d: d["items"][0].__setitem__("promised_days", 9), "out of order"),
    (lambda d: d["items"][0].__setitem__("name", "名" * 5000), "longer than"),
    (lambda d: d["items"][1].__setitem__("code", "511900-XK-0001"), "appears twice"),
    (lambda d: d["items"][0]["situations"][0]["materials"][0].pop("copies"), "situation S01 material"),
    (lambda d: d["calendar"].__setitem__("holidays", ["2026-13-01"]), "calendar"),
])
def test_bad_catalog_content_gives_clear_error(raw_sample, mutate, words):
    data = copy.deepcopy(raw_sample)
    mutate(data)
    with pytest.raises(CatalogError, match=words):
        Catalog(data)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_bytes(b"\xff{not json")
    with pytest.raises(CatalogError, match="not JSON"):
        load_catalog(bad)
    with pytest.raises(CatalogError):
        load_catalog(tmp_path / "missing.json")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_search_never_crashes(sample_catalog, query):
    results = sample_catalog.search(query)
    assert all(r.code in sample_catalog.items for r in results)


@settings(max_examples=40, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10))
def test_arbitrary_json_is_rejected_cleanly_or_loaded(raw):
    try:
        Catalog(raw if isinstance(raw, dict) else {"items": raw})
    except CatalogError:
        pass


def test_lazy_catalog_reports_a_bad_material_on_use(raw_sample):
    data = copy.deepcopy(raw_sample)
    data["items"][0]["situations"][0]["materials"][0].pop("copies")
    catalog = Catalog(data, lazy=True)  # loads: the fault is in one item's details
    assert catalog.search("企业设立")[0].code == "511900-XK-0001"
    with pytest.raises(CatalogError, match="situation S01 material"):
        broken = catalog.item("511900-XK-0001")
        assert broken is not None
        _ = broken.situations
    other = catalog.item("511900-XK-0002")
    assert other is not None and other.situations  # the others are fine
