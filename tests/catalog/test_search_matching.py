"""How search meets what people type: aliases, the everyday-words table, sentences around a word,
dialect spellings (zh/z, ch/c, sh/s, n/l, an/ang, en/eng, in/ing) and one-letter typos, live typing,
ranking, and the answer when nothing matches."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.catalog import Catalog
from kiosk.catalog.index import TYPO_ALL_POSITIONS, TYPO_MIN, How, Kind
from kiosk.catalog.pinyin import pinyin_keys
from kiosk.catalog.query import fold
from kiosk.catalog.terms import WordTable

SOCIAL_CARD, BIRTH, LICENCE, HOUSE = "511900-GG-0002", "511900-GG-0003", "511900-XK-0001", "511900-XK-0012"


def top3(catalog: Catalog, query: str) -> list[str]:
    return [f.item.code for f in catalog.find(query).found[:3]]


def test_an_alias_finds_its_item_and_says_so(aliased):
    first = aliased.find("公司注册").found[0]
    assert first.item.code == LICENCE and first.kind is Kind.ALIAS and first.how is How.EQUAL
    assert first.term == "公司注册"
    assert first.to_dict()["match"] == {"kind": "alias", "how": "equal", "term": "公司注册"}


def test_an_everyday_word_finds_the_item_it_means(aliased):
    first = aliased.find("准生证").found[0]
    assert first.item.code == BIRTH and first.kind is Kind.WORD and first.term == "准生证"


@pytest.mark.parametrize("sentence, code", [("我要办社保卡", SOCIAL_CARD), ("请问准生证在哪里办", BIRTH),
                                            ("农村修房子要审批吗", HOUSE), ("wobanshebaoka", SOCIAL_CARD)])
def test_a_word_inside_a_sentence(aliased, sentence, code):
    assert top3(aliased, sentence)[0] == code


@pytest.mark.parametrize("typed, confusion", [
    ("yingyezizao", "zh/z"), ("nongchunjianfang", "c/ch"), ("sebaoka", "sh/s"), ("longcunjianfang", "n/l"),
    ("nongcunjianfan", "ang/an"), ("zhunshenzheng", "eng/en"), ("yinyezhizhao", "ing/in"),
    ("zunsenzen", "all at once")])
def test_dialect_spellings(aliased, typed, confusion):
    expected = {"yingyezizao": LICENCE, "yinyezhizhao": LICENCE, "sebaoka": SOCIAL_CARD}.get(
        typed, BIRTH if "zen" in typed or "zheng" in typed else HOUSE)
    assert expected in top3(aliased, typed), confusion


@pytest.mark.parametrize("typed, mistake", [("shebaoke", "last letter wrong"), ("shrbaoka", "a letter wrong"),
                                            ("shebaka", "a letter missing"), ("shebbaoka", "a letter too many"),
                                            ("sheboaka", "two letters swapped"), ("gongzufnag", "swap across ng")])
def test_one_typo(aliased, typed, mistake):
    assert SOCIAL_CARD in top3(aliased, typed) or "gongzu" in typed, mistake
    if "gongzu" in typed:
        assert top3(aliased, typed)[0] == "511900-QR-0003"


def test_typos_are_tolerated_from_four_letters(aliased):
    assert top3(aliased, "xebao") == [SOCIAL_CARD]  # x for sh: one letter wrong
    assert aliased.find("xeb").no_result            # 3 letters: too many near misses to guess from


def test_live_typing_keeps_the_item_in_view(aliased):
    word = "shehuibaozhangka"
    for n in range(4, len(word) + 1):  # "she" is 生育 as much as 社会
        assert top3(aliased, word[:n])[0] == SOCIAL_CARD, word[:n]


def test_ranking_name_before_alias_before_word_before_material(aliased_raw):
    raw = copy.deepcopy(aliased_raw)
    a, b, c = raw["items"][0], raw["items"][1], raw["items"][2]
    b["aliases"] = [a["name"]]                            # b is also called by a's name
    c["situations"][0]["materials"][0]["name"] = a["name"]  # c asks for a material of that name
    words = WordTable.parse(json.dumps({"groups": [{"words": ["一个说法"], "concepts": [c["name"]]}]}).encode())
    catalog = Catalog(raw, words=words)
    found = catalog.find(a["name"]).found
    assert [(f.item.code, f.kind) for f in found[:3]] == [(a["code"], Kind.NAME), (b["code"], Kind.ALIAS),
                                                      (c["code"], Kind.EXTRA)]
    assert found[0].score > found[1].score > found[2].score
    word = catalog.find("一个说法").found
    assert [(f.item.code, f.kind) for f in word] == [(c["code"], Kind.WORD)]


def test_nothing_found_is_a_clear_no_result(aliased):
    for query in ["qqqqqq", "", "   ", "（）!!", "😀", "\x00\x1b"]:
        result = aliased.find(query)
        assert result.no_result and result.items == [], query


# Every term of the sample that names an item (materials and situations get no typo tolerance: a
# material one letter away from the query is noise), with the items it names.
def _term_keys(catalog: Catalog) -> list[tuple[str, set[int]]]:
    out = []
    for record in catalog.index.terms:
        full = "".join(record.syllables)
        users = {u >> 3 for u in record.users if u & 7 != Kind.EXTRA}
        if users and len(full) >= TYPO_MIN + 1 and full.isalpha() and full.isascii():
            out.append((full, users))
    return out


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_edit_of_a_terms_pinyin_still_finds_it(aliased, data):
    terms = _term_keys(aliased)
    full, users = data.draw(st.sampled_from(terms))
    cut = data.draw(st.integers(TYPO_MIN + 1, len(full)))   # typed so far (live typing)
    typed = full[:cut]
    i = data.draw(st.integers(0, len(typed) - 2))
    letter = data.draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    edit = data.draw(st.sampled_from(["wrong", "missing", "extra", "swap"]))
    if edit == "wrong":
        typed = typed[:i] + letter + typed[i + 1:]
    elif edit == "missing":
        typed = typed[:i] + typed[i + 1:]
    elif edit == "extra":
        typed = typed[:i] + letter + typed[i:]
    else:
        typed = typed[:i] + typed[i + 1] + typed[i] + typed[i + 2:]
    if len(typed) < TYPO_MIN:
        return
    order = list(aliased.items)
    result = aliased.find(typed, limit=len(order)).found
    found = {order.index(f.item.code) for f in result}
    what = f"{typed!r} ({edit} at {i} of {full[:cut]!r})"
    if any(fold("".join(t.syllables)).startswith(fold(typed)) for t in aliased.index.terms):
        assert result, f"{what} starts a term: it is answered as typed"  # e.g. qian for qifan: 迁…
    elif len(typed) <= TYPO_ALL_POSITIONS:
        assert found & users, f"{what} lost every item of the term"
    else:  # a long query may find another term one typo away instead (tried first, near the typo)
        typos = [f for f in result if f.how is How.TYPO]
        assert found & users or typos, f"{what} found nothing"
        assert all(one_edit_from_a_start(typed, t.term) for t in typos), f"{what}: {[t.term for t in typos]}"


def one_edit_from_a_start(typed: str, term: str) -> bool:
    """Whether some start of the term's folded pinyin is one edit (as typed, then folded) from ``typed``:
    the brute-force reference of the index's typo pass."""
    key = fold(pinyin_keys(term)[0])
    letters = "abcdefghijklmnopqrstuvwxyz"
    n = len(typed)
    edits = {typed[:i] + typed[i + 1:] for i in range(n)}
    edits |= {typed[:i] + typed[i + 1] + typed[i] + typed[i + 2:] for i in range(n - 1)}
    edits |= {typed[:i] + c + typed[i + 1:] for i in range(n) for c in letters}
    edits |= {typed[:i] + c + typed[i:] for i in range(n + 1) for c in letters}
    return any(key.startswith(fold(e)) for e in edits)


def test_fold_merges_the_confusions_and_nothing_else():
    assert fold("zhangchengshilv") == fold("zancensinu") == "zancensinu"
    assert fold("yingyezhizhao") == "yinyezizao"
    assert fold("baobiao") == "baobiao"
