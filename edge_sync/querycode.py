"""Query codes (查询码) of the contract §10, minted offline: 16 Crockford base32 symbols (80 random bits)
plus a mod-37 check symbol, travelling in canonical form (17 symbols, no dashes)."""
from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"


def check_symbol(sixteen: str) -> str:
    """The check symbol of 16 canonical symbols. Raises ValueError on a symbol outside the alphabet."""
    value = 0
    for ch in sixteen:
        value = value * 32 + ALPHABET.index(ch)
    return CHECK_ALPHABET[value % 37]


def mint_query_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return body + check_symbol(body)


def is_query_code(code: str) -> bool:
    """True for a well-formed canonical code (right symbols, right check)."""
    if not isinstance(code, str) or len(code) != 17 or any(c not in ALPHABET for c in code[:16]):
        return False
    return check_symbol(code[:16]) == code[16]
