"""Query codes (contract §10) on both sides of the wire: the terminal's one implementation (edge_sync's
querycode, which mints each case's code and recognises scanned and typed ones for the kiosk) and the
central simulator's own independent copy, each checked against the same fixed vectors written out here
from the contract's words, and each accepting the other's minted codes."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from edge_sync import querycode
from simulators.central import contract as central
from simulators.hall import codes as hall

# (16 symbols, check symbol): the contract's example, and each end of the check alphabet.
VECTORS = [
    ("7KQ2M9XDPA4TH6WR", "P"),   # contract §10 example
    ("0000000000000000", "0"),   # value 0
    ("000000000000000Z", "Z"),   # 31
    ("0000000000000010", "*"),   # 32: the check-only symbols start
    ("0000000000000011", "~"),   # 33
    ("0000000000000012", "$"),   # 34
    ("0000000000000013", "="),   # 35
    ("0000000000000014", "U"),   # 36
    ("0000000000000015", "0"),   # 37 ≡ 0
    ("ZZZZZZZZZZZZZZZZ", "~"),   # 2**80 - 1 ≡ 33
]
NOT_CODES = ["7KQ2M9XDPA4TH6WRQ", "7KQ2-M9XD-PA4T-H6WR-P", "7kq2m9xdpa4th6wrp", "7KQ2M9XDPA4TH6WR",
             "7KQ2M9XDPA4TH6WRPP", "OKQ2M9XDPA4TH6WRP", "", None, 17]
SIDES: list[tuple[str, Callable[[str], str], Callable[[object], bool]]] = [
    ("edge_sync", querycode.check_symbol, querycode.is_query_code),
    ("central simulator", central.check_symbol, central.is_query_code),
]


@pytest.mark.parametrize("side, check_symbol, is_query_code", SIDES, ids=[s[0] for s in SIDES])
def test_both_sides_agree_with_the_fixed_vectors(side, check_symbol, is_query_code) -> None:
    for body, check in VECTORS:
        assert check_symbol(body) == check, (side, body)
        assert is_query_code(body + check), (side, body)
    for text in NOT_CODES:
        assert not is_query_code(text), (side, text)


def test_a_minted_code_is_a_code_for_both_sides() -> None:
    for _ in range(200):
        code = querycode.mint_query_code()
        assert querycode.is_query_code(code) and central.is_query_code(code)
        assert hall.parse_receipt_code(querycode.receipt_url(code)) == code
        theirs = hall.mint_query_code()  # the simulated hall's notices, printed by the other side's code
        assert querycode.is_query_code(theirs) and querycode.parse_receipt_code(hall.receipt_url(theirs)) == theirs
