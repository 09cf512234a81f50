"""Which items an everyday word means (kiosk.catalog.terms): the items whose name or one of whose aliases
contains one of its concepts. The compile tests each item's name and aliases joined in one string; that
must pick exactly the items the plain definition picks, whatever the names, aliases and concepts hold,
the joining character included."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.catalog.model import Item
from kiosk.catalog.terms import _APART, _users

TEXT = st.text(alphabet="社保卡医准生证营业执照ab" + _APART, max_size=6)


def item(n: int, name: str, aliases: tuple[str, ...]) -> Item:
    return Item(code=f"C{n}", name=name, kind="", department="D", category="K", themes=(), aliases=aliases,
                statutory_days=1, promised_days=1, online_level="", visits_required=1, agent_allowed=False,
                pickup_methods=("window",))


def by_definition(items: list[Item], concepts: list[str]) -> list[int]:
    return [n for n, i in enumerate(items) if any(c in i.name or any(c in a for a in i.aliases) for c in concepts)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(TEXT, st.lists(TEXT, max_size=3)), max_size=8),
       st.lists(st.text(alphabet="社保卡医证照a" + _APART, min_size=1, max_size=3), min_size=1, max_size=4))
def test_the_joined_test_picks_the_items_the_definition_picks(entries, concepts):
    items = [item(n, name, tuple(aliases)) for n, (name, aliases) in enumerate(entries)]
    said = [_APART.join((i.name, *i.aliases)) for i in items]
    assert _users(items, said, concepts) == by_definition(items, concepts)


def test_a_concept_across_the_join_is_not_found_there():
    items = [item(0, "社保", ("卡",)), item(1, "社保卡", ())]
    said = [_APART.join((i.name, *i.aliases)) for i in items]
    assert _users(items, said, ["保" + _APART + "卡"]) == []
    assert _users(items, said, ["保卡"]) == [1]
