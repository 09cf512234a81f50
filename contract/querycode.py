"""Query codes (查询码) of acceptance notices, contract §10: 16 Crockford base32 symbols (80 random bits)
plus one check symbol (the 80-bit value modulo 37 in Crockford's check alphabet). The canonical form is
the 17 symbols, upper case, no separators (``7KQ2M9XDPA4TH6WRP``); a notice's QR encodes
``https://zwfw.example.gov.cn/q/<canonical>``. Recognising a code in scanned or typed text (dashes,
spaces, case, the notice URL) is the scanner driver's part (``drivers.scanner.receipt_code``)."""
from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CHECK_ALPHABET = ALPHABET + "*~$=U"  # values 32..36 of the check symbol
SYMBOLS = 16  # 16 × 5 bits = 80 random bits
BITS = SYMBOLS * 5
CANONICAL_LENGTH = SYMBOLS + 1
NOTICE_HOST = "zwfw.example.gov.cn"
NOTICE_URL_PREFIX = f"https://{NOTICE_HOST}/q/"

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def value_of(sixteen: str) -> int:
    """The 80-bit value of 16 symbols (case-insensitive). Raises ValueError for anything else."""
    if not isinstance(sixteen, str) or len(sixteen) != SYMBOLS or not sixteen.isascii():
        raise ValueError("a query code body is exactly 16 Crockford base32 symbols")
    value = 0
    for ch in sixteen.upper():
        digit = _VALUE.get(ch)
        if digit is None:
            raise ValueError(f"not a Crockford base32 symbol: {ch!r}")
        value = (value << 5) | digit
    return value


def check_symbol(sixteen: str) -> str:
    """The check symbol of 16 code symbols: their 80-bit value mod 37 in the check alphabet.
    Raises ValueError when ``sixteen`` is not 16 symbols of the Crockford alphabet (case-insensitive)."""
    return CHECK_ALPHABET[value_of(sixteen) % 37]


def code_from_value(value: int) -> str:
    """The canonical 17-symbol code for an 80-bit value. Raises ValueError outside 0 ≤ value < 2**80."""
    if not isinstance(value, int) or not 0 <= value < (1 << BITS):
        raise ValueError("a query code value is an integer of at most 80 bits")
    body = "".join(ALPHABET[(value >> shift) & 31] for shift in range(BITS - 5, -1, -5))
    return body + CHECK_ALPHABET[value % 37]


def mint_query_code() -> str:
    """A new canonical query code from 80 bits of the operating system's CSPRNG (``secrets``).
    Codes are capabilities (anyone holding one sees the masked case view), hence secrets, not random."""
    return code_from_value(secrets.randbits(BITS))


def is_query_code(code: object) -> bool:
    """True only for a canonical code: 17 upper-case symbols with the right check symbol."""
    if not isinstance(code, str) or len(code) != CANONICAL_LENGTH or any(c not in _VALUE for c in code[:SYMBOLS]):
        return False
    return check_symbol(code[:SYMBOLS]) == code[SYMBOLS]
