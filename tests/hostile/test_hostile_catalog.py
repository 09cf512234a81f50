"""Hostile catalog content into ``kiosk.catalog``: the sample catalog with one value anywhere replaced by a
huge string, a wrong type, a missing field, an unknown field, NaN/infinity or a 10^30 number, duplicate item
codes, absurd limits; malformed files; and hostile search queries. A catalog loads (tolerantly) or raises
``CatalogError`` naming the item and field; search answers in bounded time. The loader defects this suite
found are fixed and kept as plain regression tests; the random run tolerates none."""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.catalog import Catalog, CatalogError, load_catalog
from tests.hostile.bounded import count, within

pytestmark = pytest.mark.timeout(180)

# (path with list indexes as "#", exception type): loader defects tolerated by the random run. The ones
# this suite found are fixed and kept as the regression tests below, so none is tolerated any more.
KNOWN: set[tuple[tuple, str]] = set()
HOSTILE_VALUES: list[object] = [None, True, 0, -1, 10 ** 30, -(10 ** 30), 1e308, float("inf"), float("nan"), "",
                                "x" * 20000, "\x00\x1b[2J\u202e", "𠀀" * 1000, [], [None], [[[[[]]]]], {}, {"code": 1},
                                "' OR 1=1 --"]


class Raw(dict):
    """The sample catalog, with a short repr so that hypothesis' failure reports stay readable."""

    def __repr__(self) -> str:
        return "<sample catalog>"


@pytest.fixture(scope="module")
def raw(catalog_file) -> dict[str, Any]:
    return Raw(json.loads(catalog_file.read_text(encoding="utf-8")))


def paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:3]):
            yield from paths(value, prefix + (i,))


def shape(path: tuple) -> tuple:
    return tuple("#" if isinstance(p, int) else p for p in path)


def changed(raw: dict, path: tuple, value: Any, delete: bool = False) -> dict:
    out = copy.deepcopy(raw)
    target = out
    for p in path[:-1]:
        target = target[p]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def load(raw: dict, path: tuple) -> Catalog | CatalogError | None:
    """The catalog, the CatalogError it raised, or None for a pinned known defect."""
    try:
        return within(20, Catalog, raw)
    except CatalogError as exc:
        return exc
    except Exception as exc:  # only the defects pinned below may get here
        assert (shape(path), type(exc).__name__) in KNOWN, f"{shape(path)}: {type(exc).__name__}: {exc}"
        return None


# Defects that let a catalog load and then fail the home screen (none left: see the theme test below).
KNOWN_USE: set[tuple[tuple, str]] = set()


def use(catalog: Catalog, path: tuple) -> None:
    """Everything the screens do with a loaded catalog answers without raising."""
    try:
        json.dumps(catalog.home(), allow_nan=True)
    except Exception as exc:
        assert (shape(path), type(exc).__name__) in KNOWN_USE, f"{shape(path)}: {type(exc).__name__}: {exc}"
    for item in list(catalog.items.values())[:5]:
        json.dumps(catalog.item_view(item), allow_nan=True)
    catalog.search("yyzz")
    catalog.search("营业执照")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.data())
def test_one_hostile_value_anywhere_loads_or_names_the_fault(raw, data):
    count("catalog.mutated")
    all_paths = [p for p in paths(raw) if p]
    path = data.draw(st.sampled_from(all_paths))
    how = data.draw(st.sampled_from(["value", "delete", "unknown"]))
    if how == "delete" and isinstance(path[-1], str):
        mutated = changed(raw, path, None, delete=True)
    elif how == "unknown" and isinstance(path[-1], str):
        mutated = changed(raw, path[:-1] + ("zz_unknown_" + path[-1],), data.draw(st.sampled_from(HOSTILE_VALUES)))
    else:
        mutated = changed(raw, path, data.draw(st.sampled_from(HOSTILE_VALUES)))
    result = load(mutated, path)
    if isinstance(result, CatalogError):
        message = str(result)
        assert re.match(r"(item |catalog|calendar)", message), message[:200]
        if path[0] == "items" and path[-1] == "code":
            return  # the item cannot be named by the code under attack
        if len(path) > 2 and path[0] == "items" and isinstance(path[1], int):
            code = raw["items"][path[1]]["code"]
            assert f"item {code}" in message or "item ?" in message or "appears twice" in message, message
    elif result is not None:
        within(20, use, result, path)


def test_duplicate_codes_and_absurd_limits_are_named(raw):
    count("catalog.cases", 5)
    twice = copy.deepcopy(raw)
    twice["items"].append(copy.deepcopy(raw["items"][0]))
    with pytest.raises(CatalogError, match=re.escape(f"item {raw['items'][0]['code']}: appears twice")):
        Catalog(twice)
    for promised, statutory in ((5, 2), (-1, 3), (1, 100000), (10 ** 30, 10 ** 31)):
        bad = changed(raw, ("items", 0, "promised_days"), promised)
        bad["items"][0]["statutory_days"] = statutory
        with pytest.raises(CatalogError, match="promised_days"):
            Catalog(bad)


def test_missing_top_level_fields_and_non_objects(raw, tmp_path):
    not_catalogs: tuple[object, ...] = ({}, {"items": None}, {"items": {}}, {"items": [None]}, {"items": ["x"]},
                                        {"items": [{}]}, [], "x", None)
    for case in not_catalogs:
        count("catalog.cases")
        with pytest.raises(CatalogError):
            Catalog(case)  # type: ignore[arg-type]  # deliberately not a catalog object: it must be refused
    for content in (b"", b"\xff\xfe", b"{", b"null", b"[]", b'{"items": [' + b"{}," * 10 + b"]}"):
        count("catalog.files")
        path = tmp_path / "catalog.json"
        path.write_bytes(content)
        with pytest.raises(CatalogError, match="catalog"):
            load_catalog(path)
    with pytest.raises(CatalogError, match="catalog file"):
        load_catalog(tmp_path / "absent.json")


def test_unknown_fields_and_themes_naming_absent_items_are_tolerated(raw):
    count("catalog.cases")
    extra = copy.deepcopy(raw)
    extra["zz"] = {"anything": [1, 2, 3]}
    extra["items"][0]["zz"] = "x" * 10000
    extra["themes"][0]["items"] = ["NOPE"] * 1000 + [raw["items"][0]["code"]]
    catalog = Catalog(extra)
    assert len(catalog.by_theme(raw["themes"][0]["code"])) >= 1


HOSTILE_QUERIES = ["", " ", ".*", "(a+)+$", "[", "\\", "^$", "|||", "%", "_", "'; DROP TABLE items; --",
                   "<script>alert(1)</script>", "\x00", "\x1b[2J", "\r\n", "\u202e", "𠀀", "😀" * 100, "a" * 100000,
                   "营业" * 50000, "yyzz" * 25000, "Ｙｙｚｚ", "ＹＹＺＺ", "İ", "ß" * 1000, "\ud800"]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_hostile_search_queries(sample_catalog_for_search, query):
    count("catalog.search_corpus")
    found = within(5, sample_catalog_for_search.search, query)
    assert isinstance(found, list) and len(found) <= 30


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200), st.integers(-5, 100))
def test_random_search_queries(sample_catalog_for_search, query, limit):
    count("catalog.search_random")
    found = within(5, sample_catalog_for_search.search, query, max(limit, 0))
    assert len(found) <= max(limit, 0)


@pytest.fixture(scope="module")
def sample_catalog_for_search(raw) -> Catalog:
    return Catalog(raw)


# -- defects of the loader, pinned (kiosk/catalog is still being written; see docs/hostile-input.md) --------

def _not_catalog_error(raw: dict, path: tuple, value: Any) -> None:
    try:
        Catalog(changed(raw, path, value))
    except CatalogError:
        pass


@pytest.mark.parametrize("path,value", [*((("items", 0, f), v) for f in ("faq", "fees", "legal_basis",
                                                                         "pickup_methods", "themes")
                                          for v in (None, 3)),
                                        (("items", 0, "visits_required"), None),
                                        (("items", 0, "visits_required"), "many"),
                                        (("items", 0, "visits_required"), float("inf")),
                                        (("items", 0, "steps", 0, "limit_days"), [1]),
                                        (("items", 0, "steps", 0, "limit_days"), float("nan"))])
def test_optional_item_fields_of_the_wrong_type(raw, path, value):
    """Found by this suite (TypeError/ValueError/OverflowError escaped parse_item); fixed by the catalog's
    author during this work: kept as a regression test."""
    count("catalog.cases")
    try:
        Catalog(changed(raw, path, value))
    except CatalogError as exc:
        assert f"item {raw['items'][0]['code']}" in str(exc)


@pytest.mark.parametrize("path", [("version",), ("calendar", "year"), ("categories", 0, "floor"),
                                  ("categories", 0, "windows", 0)])
def test_infinite_numbers(raw, path):
    _not_catalog_error(raw, path, float("inf"))


@pytest.mark.parametrize("path,value", [(("region",), "abc"), (("region",), True), (("calendar",), 3)])
def test_top_level_objects_of_the_wrong_type(raw, path, value):
    _not_catalog_error(raw, path, value)


def test_deeply_nested_file(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100000)
    try:
        load_catalog(path)
    except CatalogError:
        pass


@pytest.mark.parametrize("path,also", [(("items", 0, "code"), ("items", 0, "name")),
                                       (("items", 0, "situations", 0, "code"), ("items", 0, "situations", 0, "name")),
                                       (("calendar", "holidays", 0), None)])
def test_a_huge_offending_value_is_not_echoed_in_full(raw, path, also):
    bad = changed(raw, path, "x" * 100000 + "\x1b[2J")
    if also is not None:
        bad = changed(bad, also, None)
    with pytest.raises(CatalogError) as info:
        Catalog(bad)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("value", [[], {"a": 1}])
def test_a_theme_listing_a_non_string_item_breaks_the_home_screen(raw, value):
    try:
        catalog = Catalog(changed(raw, ("themes", 0, "items", 0), value))
    except CatalogError:
        return
    catalog.home()
