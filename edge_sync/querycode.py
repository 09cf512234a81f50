"""Query codes (查询码) of the contract §10: minting, checking, the printed and URL forms, and recognising
a scanned or typed text. The terminal's one implementation: the kiosk and the sync engine both use it.

A query code is 16 Crockford base32 symbols (80 random bits) plus one check symbol: the 80-bit value
modulo 37 written with Crockford's check alphabet. Its canonical form is the 17 symbols, upper case,
no separators (``7KQ2M9XDPA4TH6WRP``).

What ``parse_receipt_code`` and ``classify`` accept, and nothing else (the contract says "rejects anything
else"):

* the notice URL ``https://zwfw.example.gov.cn/q/<17 symbols>``. Scheme and host are compared without
  regard to case (RFC 3986 §6.2.2.1: they are case-insensitive, so ``HTTPS://ZWFW…`` is the same
  place); the path ``/q/`` must be exactly that; no port, user info, extra path, trailing slash,
  query or fragment, no percent-encoding, no dashes inside the code (the contract prints none there);
* the bare code: 17 symbols, with any dashes and spaces removed and lower case upper-cased.

Crockford's decode aliases (``O``→0, ``I``/``L``→1) are *not* applied: the contract tolerates only
dashes, spaces and case, and an alias would let a mistyped code match someone else's case. Leading
and trailing spaces are tolerated in both forms; any control character rejects the text.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CHECK_ALPHABET = ALPHABET + "*~$=U"  # values 32..36 of the check symbol
SYMBOLS = 16  # 16 × 5 bits = 80 random bits
BITS = SYMBOLS * 5
CANONICAL_LENGTH = SYMBOLS + 1
NOTICE_HOST = "zwfw.example.gov.cn"
NOTICE_URL_PREFIX = f"https://{NOTICE_HOST}/q/"
# Longest text worth looking at: the URL is 48 characters, a spaced-out bare code a little more.
MAX_INPUT_CHARS = 96

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_CHECK_VALUE = {ch: i for i, ch in enumerate(CHECK_ALPHABET)}
# Explicit ASCII classes: str.upper() of some non-ASCII letters yields ASCII ones ("ı" → "I").
_NOTICE_URL = re.compile(r"(?i:https)://(?i:zwfw\.example\.gov\.cn)/q/([0-9A-Za-z*~$=]{17})", re.ASCII)
_NOTICE_ORIGIN = re.compile(r"(?i:https?)://(?i:zwfw\.example\.gov\.cn)(?:[/:?#]|\Z)", re.ASCII)
_LOOKS_LIKE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|(?i:www\.)", re.ASCII)


class ScanKind(StrEnum):
    """What a scanned or typed text is: only a receipt code may ever reach the platform."""

    RECEIPT_CODE = "receipt_code"
    OTHER = "other"


class RejectCause(StrEnum):
    """Why a text is not a receipt code; stable words for logs and for the kiosk's messages (the text
    itself is never logged)."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL_CHARS = "control_chars"
    FOREIGN_URL = "foreign_url"  # a web address of some other site (or the right site over http)
    BAD_URL = "bad_url"  # the notice site, but not the notice path and code
    BAD_CHECK = "bad_check"  # shaped like a query code, but the check symbol does not match
    NOT_A_CODE = "not_a_code"


@dataclass(frozen=True)
class Classification:
    """``kind`` receipt_code with the canonical ``code``, or other with the ``cause``."""

    kind: ScanKind
    code: str | None = None
    cause: RejectCause | None = None


def _value_of(sixteen: str) -> int:
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

    Raises ValueError when ``sixteen`` is not 16 symbols of the Crockford alphabet (case-insensitive).
    """
    return CHECK_ALPHABET[_value_of(sixteen) % 37]


def code_from_value(value: int) -> str:
    """The canonical 17-symbol code for an 80-bit value. Raises ValueError outside 0 ≤ value < 2**80."""
    if not isinstance(value, int) or not 0 <= value < (1 << BITS):
        raise ValueError("a query code value is an integer of at most 80 bits")
    body = "".join(ALPHABET[(value >> shift) & 31] for shift in range(BITS - 5, -1, -5))
    return body + CHECK_ALPHABET[value % 37]


def mint_query_code() -> str:
    """A new canonical query code from 80 bits of the operating system's CSPRNG (``secrets``).

    Codes are capabilities (anyone holding one sees the masked case view), hence secrets, not random.
    """
    return code_from_value(secrets.randbits(BITS))


def _verify(candidate: str) -> tuple[str | None, RejectCause | None]:
    """Canonical form of 17 symbols with a matching check symbol, else the cause of the failure."""
    if len(candidate) != CANONICAL_LENGTH or not candidate.isascii():
        return None, RejectCause.NOT_A_CODE
    upper = candidate.upper()
    body, check = upper[:SYMBOLS], upper[SYMBOLS]
    if any(ch not in _VALUE for ch in body) or check not in _CHECK_VALUE:
        return None, RejectCause.NOT_A_CODE
    if check_symbol(body) != check:
        return None, RejectCause.BAD_CHECK
    return upper, None


def _analyse(text: object) -> tuple[str | None, RejectCause | None]:
    if not isinstance(text, str):
        return None, RejectCause.NOT_A_CODE
    if len(text) > MAX_INPUT_CHARS:
        return None, RejectCause.TOO_LONG
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return None, RejectCause.CONTROL_CHARS
    stripped = text.strip(" ")
    if not stripped:
        return None, RejectCause.EMPTY
    url = _NOTICE_URL.fullmatch(stripped)
    if url:
        code, cause = _verify(url.group(1))
        return code, (cause if cause is not RejectCause.NOT_A_CODE else RejectCause.BAD_URL)
    if _NOTICE_ORIGIN.match(stripped) and stripped[:6].lower() == "https:":
        return None, RejectCause.BAD_URL
    if _LOOKS_LIKE_URL.match(stripped):
        return None, RejectCause.FOREIGN_URL
    return _verify(stripped.replace("-", "").replace(" ", ""))


def parse_receipt_code(text: str) -> str | None:
    """The canonical 17-symbol query code in a notice URL or bare code, or None for anything else.

    Never raises: any input (including non-strings) that is not an exact notice URL or a bare code
    with a valid check symbol gives None.
    """
    return _analyse(text)[0]


def classify(text: str) -> Classification:
    """Receipt code (with its canonical form) or "other" with the cause. Never raises."""
    code, cause = _analyse(text)
    if code is not None:
        return Classification(ScanKind.RECEIPT_CODE, code=code)
    return Classification(ScanKind.OTHER, cause=cause or RejectCause.NOT_A_CODE)


def is_query_code(code: object) -> bool:
    """True for a code in canonical form only (17 upper-case symbols, right check): the form in messages."""
    return isinstance(code, str) and _verify(code)[0] == code


def _canonical_or_raise(code: str) -> str:
    canonical = _verify(code.replace("-", "").replace(" ", ""))[0] if isinstance(code, str) else None
    if canonical is None:
        raise ValueError("not a valid query code (17 symbols with a matching check symbol)")
    return canonical


def format_query_code(code: str) -> str:
    """The printed form ``7KQ2-M9XD-PA4T-H6WR-P`` of a valid code (canonical or with dashes/spaces).

    Raises ValueError when ``code`` is not a valid query code.
    """
    canonical = _canonical_or_raise(code)
    groups = [canonical[i:i + 4] for i in range(0, SYMBOLS, 4)]
    return "-".join(groups + [canonical[SYMBOLS]])


def receipt_url(code: str) -> str:
    """The URL the notice's QR encodes, ``https://zwfw.example.gov.cn/q/<canonical>``.

    Raises ValueError when ``code`` is not a valid query code.
    """
    return NOTICE_URL_PREFIX + _canonical_or_raise(code)
