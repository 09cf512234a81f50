"""Query codes and receipt-QR recognition (contract §10), edge_sync's one implementation for the terminal:
vectors, tolerances, rejections, properties."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_sync import querycode as qc
from edge_sync.querycode import (
    RejectCause,
    ScanKind,
    check_symbol,
    classify,
    format_query_code,
    is_query_code,
    mint_query_code,
    parse_receipt_code,
    receipt_url,
)

CONTRACT_CODE = "7KQ2M9XDPA4TH6WRP"
CONTRACT_URL = "https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP"

# Written out here from the contract's words, independently of the module under test.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECKS = CROCKFORD + "*~$=U"
_TO_PYTHON_BASE32 = str.maketrans(CROCKFORD, "0123456789ABCDEFGHIJKLMNOPQRSTUV")


def reference_check(sixteen: str) -> str:
    """The contract's definition via Python's own base-32 integer parser."""
    return CHECKS[int(sixteen.translate(_TO_PYTHON_BASE32), 32) % 37]


def settings_for(n: int) -> settings:
    return settings(max_examples=n, deadline=None)


# ---- vectors -----------------------------------------------------------------------------------

def test_contract_example_check_symbol_is_p():
    assert reference_check(CONTRACT_CODE[:16]) == "P"
    assert check_symbol(CONTRACT_CODE[:16]) == "P"
    assert parse_receipt_code(CONTRACT_URL) == CONTRACT_CODE
    assert format_query_code(CONTRACT_CODE) == "7KQ2-M9XD-PA4T-H6WR-P"
    assert receipt_url(CONTRACT_CODE) == CONTRACT_URL


@pytest.mark.parametrize("body, check", [
    ("0000000000000000", "0"),   # value 0
    ("000000000000000Z", "Z"),   # 31
    ("0000000000000010", "*"),   # 32: first symbol of the check-only extension
    ("0000000000000011", "~"),   # 33
    ("0000000000000012", "$"),   # 34
    ("0000000000000013", "="),   # 35
    ("0000000000000014", "U"),   # 36
    ("0000000000000015", "0"),   # 37 ≡ 0
    ("ZZZZZZZZZZZZZZZZ", CHECKS[(2 ** 80 - 1) % 37]),
])
def test_hand_computed_check_symbols(body, check):
    assert reference_check(body) == check
    assert check_symbol(body) == check
    assert parse_receipt_code(body + check) == body + check
    assert parse_receipt_code(qc.NOTICE_URL_PREFIX + body + check) == body + check


def test_code_from_value_pads_to_sixteen_symbols():
    assert qc.code_from_value(0) == "0" * 17
    assert qc.code_from_value(37) == "0000000000000015" + "0"
    with pytest.raises(ValueError):
        qc.code_from_value(2 ** 80)
    with pytest.raises(ValueError):
        qc.code_from_value(-1)


@pytest.mark.parametrize("bad", ["", "7KQ2M9XDPA4TH6W", "7KQ2M9XDPA4TH6WRX1", "OKQ2M9XDPA4TH6WR", "7KQ2M9XDPA4TH6W*"])
def test_check_symbol_rejects_bad_bodies(bad):
    with pytest.raises(ValueError):
        check_symbol(bad)


# ---- minting -----------------------------------------------------------------------------------

def test_mint_round_trips_and_does_not_repeat():
    codes = [mint_query_code() for _ in range(500)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{16}[0-9A-HJKMNP-TV-Z*~$=U]", code)
        assert reference_check(code[:16]) == code[16]
        assert parse_receipt_code(code) == code
        assert parse_receipt_code(receipt_url(code)) == code
        assert parse_receipt_code(format_query_code(code).lower()) == code


def test_mint_draws_80_bits_from_secrets(monkeypatch):
    asked = []

    def fake_randbits(k: int) -> int:
        asked.append(k)
        return 2 ** 80 - 1

    monkeypatch.setattr(qc.secrets, "randbits", fake_randbits)
    assert mint_query_code() == "Z" * 16 + CHECKS[(2 ** 80 - 1) % 37]
    assert asked == [80]


def test_minted_symbols_use_the_whole_alphabet():
    # 80 bits per code: every symbol position covers the whole alphabet (not e.g. digits only).
    seen = set("".join(mint_query_code()[:16] for _ in range(200)))
    assert seen == set(CROCKFORD)


# ---- tolerated forms ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    CONTRACT_CODE,
    CONTRACT_CODE.lower(),
    "7KQ2-M9XD-PA4T-H6WR-P",
    "7kq2-m9xd-pa4t-h6wr-p",
    "7KQ2 M9XD PA4T H6WR P",
    "  7KQ2-M9XD-PA4T-H6WR-P  ",
    CONTRACT_URL,
    " " + CONTRACT_URL + " ",
    "HTTPS://ZWFW.EXAMPLE.GOV.CN/q/7KQ2M9XDPA4TH6WRP",
    "https://zwfw.example.gov.cn/q/7kq2m9xdpa4th6wrp",
])
def test_accepted_forms_give_the_canonical_code(text):
    assert parse_receipt_code(text) == CONTRACT_CODE
    result = classify(text)
    assert result.kind is ScanKind.RECEIPT_CODE and result.code == CONTRACT_CODE and result.cause is None


# ---- rejected forms ----------------------------------------------------------------------------

WRONG_CHECK = CONTRACT_CODE[:16] + "Q"


@pytest.mark.parametrize("text, cause", [
    ("http://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("https://evil.example.com/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("https://zwfw.example.gov.cn.evil.com/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("https://zwfw.example.gov.cn@evil.com/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("https://evil.com/https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("ftp://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("javascript://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP", RejectCause.FOREIGN_URL),
    ("www.example.com", RejectCause.FOREIGN_URL),
    ("https://zwfw.example.gov.cn:443/q/7KQ2M9XDPA4TH6WRP", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP/", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP?x=1", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP#top", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/Q/7KQ2M9XDPA4TH6WRP", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q//7KQ2M9XDPA4TH6WRP", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/x/q/7KQ2M9XDPA4TH6WRP", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/7KQ2-M9XD-PA4T-H6WR-P", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WR%50", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/OKQ2M9XDPA4TH6WRP", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/", RejectCause.BAD_URL),
    ("https://zwfw.example.gov.cn/q/" + WRONG_CHECK, RejectCause.BAD_CHECK),
    (WRONG_CHECK, RejectCause.BAD_CHECK),
    ("7KQ2-M9XD-PA4T-H6RW-P", RejectCause.BAD_CHECK),  # adjacent symbols swapped
    (CONTRACT_CODE[:16], RejectCause.NOT_A_CODE),
    (CONTRACT_CODE + "P", RejectCause.NOT_A_CODE),
    ("7KQ2_M9XD_PA4T_H6WR_P", RejectCause.NOT_A_CODE),
    ("7KQ2.M9XD.PA4T.H6WR.P", RejectCause.NOT_A_CODE),
    ("7KQ2M9XDPA4TH6WRP; rm -rf /", RejectCause.NOT_A_CODE),
    ("$(reboot)", RejectCause.NOT_A_CODE),
    ("'; DROP TABLE cases; --", RejectCause.NOT_A_CODE),
    ("<script>alert(1)</script>", RejectCause.NOT_A_CODE),
    ("../../etc/passwd", RejectCause.NOT_A_CODE),
    ("６ＫＱ２Ｍ９ＸＤＰＡ４ＴＨ６ＷＲＰ", RejectCause.NOT_A_CODE),  # full-width look-alikes
    ("受理通知书", RejectCause.NOT_A_CODE),
    (CONTRACT_CODE + "\r", RejectCause.CONTROL_CHARS),
    ("7KQ2M9XD\tPA4TH6WRP", RejectCause.CONTROL_CHARS),
    ("\x00" + CONTRACT_CODE, RejectCause.CONTROL_CHARS),
    (CONTRACT_URL + "\n", RejectCause.CONTROL_CHARS),
    ("7KQ2M9XD\x1dPA4TH6WRP", RejectCause.CONTROL_CHARS),
    (CONTRACT_CODE + " " * 200, RejectCause.TOO_LONG),
    ("A" * 5000, RejectCause.TOO_LONG),
    ("", RejectCause.EMPTY),
    ("   ", RejectCause.EMPTY),
])
def test_rejected_texts_are_other_with_a_cause(text, cause):
    assert parse_receipt_code(text) is None
    result = classify(text)
    assert result.kind is ScanKind.OTHER and result.code is None
    assert result.cause is cause
    assert not is_query_code(text)


def test_crockford_decode_aliases_are_not_applied():
    code = qc.code_from_value(int("10" * 8, 32))  # a body full of 0 and 1 symbols
    assert "0" in code[:16] and "1" in code[:16] and parse_receipt_code(code) == code
    for alias_for_zero, alias_for_one in (("O", "I"), ("o", "l"), ("O", "L")):
        typed = code[:16].replace("0", alias_for_zero).replace("1", alias_for_one) + code[16]
        assert parse_receipt_code(typed) is None


def test_non_ascii_letters_that_upper_case_to_ascii_are_rejected():
    code = next(c for c in iter(mint_query_code, None) if "S" in c[:16])
    assert "ſ".upper() == "S"  # LATIN SMALL LETTER LONG S
    assert parse_receipt_code(code.replace("S", "ſ")) is None
    assert parse_receipt_code(qc.NOTICE_URL_PREFIX + code.replace("S", "ſ")) is None


@pytest.mark.parametrize("value", [None, b"7KQ2M9XDPA4TH6WRP", 17, ["7KQ2M9XDPA4TH6WRP"]])
def test_non_text_is_never_a_code(value):
    assert parse_receipt_code(value) is None
    assert classify(value).kind is ScanKind.OTHER


@pytest.mark.parametrize("bad", ["", WRONG_CHECK, CONTRACT_URL, "7KQ2M9XDPA4TH6WR"])
def test_format_and_url_refuse_invalid_codes(bad):
    with pytest.raises(ValueError):
        format_query_code(bad)
    with pytest.raises(ValueError):
        receipt_url(bad)


# ---- properties --------------------------------------------------------------------------------

values = st.integers(min_value=0, max_value=2 ** 80 - 1)


@settings_for(300)
@given(values, st.sampled_from(["bare", "lower", "dashed", "spaced", "url", "url-lower"]))
def test_every_value_round_trips_in_every_accepted_form(value, form):
    code = qc.code_from_value(value)
    assert code[16] == reference_check(code[:16])
    text = {"bare": code, "lower": code.lower(), "dashed": format_query_code(code),
            "spaced": format_query_code(code).replace("-", " "), "url": receipt_url(code),
            "url-lower": qc.NOTICE_URL_PREFIX + code.lower()}[form]
    assert parse_receipt_code(text) == code


@settings_for(300)
@given(values, st.integers(min_value=0, max_value=15), st.sampled_from(CROCKFORD))
def test_any_single_symbol_change_is_caught(value, position, symbol):
    code = qc.code_from_value(value)
    changed = code[:position] + symbol + code[position + 1:]
    assert (parse_receipt_code(changed) == code) == (changed == code)


@settings_for(300)
@given(values, st.integers(min_value=0, max_value=14))
def test_any_adjacent_transposition_is_caught(value, position):
    code = qc.code_from_value(value)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    assert (parse_receipt_code(swapped) is None) == (swapped != code)


@settings_for(200)
@given(values, st.sampled_from(CHECKS))
def test_only_the_right_check_symbol_is_accepted(value, check):
    code = qc.code_from_value(value)
    assert (parse_receipt_code(code[:16] + check) is not None) == (check == code[16])


@settings_for(500)
@given(st.one_of(st.text(max_size=120),
                 st.text(alphabet=CHECKS + CHECKS.lower() + "-: /IiLlOo", max_size=40),
                 st.builds(lambda s: qc.NOTICE_URL_PREFIX + s, st.text(max_size=30))))
def test_parser_never_raises_and_only_returns_checked_codes(text):
    code = parse_receipt_code(text)
    result = classify(text)
    if code is None:
        assert result.kind is ScanKind.OTHER and result.cause is not None
    else:
        assert result.code == code
        assert re.fullmatch(r"[0-9A-Z*~$=]{17}", code) and reference_check(code[:16]) == code[16]


# ---- the canonical form in messages ----------------------------------------------------------------

@pytest.mark.parametrize("text", [CONTRACT_CODE.lower(), "7KQ2-M9XD-PA4T-H6WR-P", " " + CONTRACT_CODE, CONTRACT_URL,
                                  WRONG_CHECK, CONTRACT_CODE[:16], None, 17, b"7KQ2M9XDPA4TH6WRP"])
def test_is_query_code_takes_the_canonical_form_only(text):
    assert is_query_code(CONTRACT_CODE)
    assert not is_query_code(text)


@settings_for(200)
@given(values)
def test_is_query_code_agrees_with_the_parser_on_canonical_codes(value):
    code = qc.code_from_value(value)
    assert is_query_code(code) and parse_receipt_code(code) == code
    assert is_query_code(code[:16] + CHECKS[(CHECKS.index(code[16]) + 1) % 37]) is False
