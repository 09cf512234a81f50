"""Query codes and masked names as the hall's script and control panel need them, from the contract (§10)
and the central simulator's own code: the hall is simulator tooling and never imports the product's
drivers, so that it checks the terminal instead of agreeing with it."""
from __future__ import annotations

import re
import secrets

from simulators.central.contract import CROCKFORD, check_symbol, is_query_code
from simulators.central.progress import mask_name

__all__ = ["RECEIPT_URL_PREFIX", "format_query_code", "mask_name", "mint_query_code", "parse_receipt_code",
           "receipt_url"]

RECEIPT_URL_PREFIX = "https://zwfw.example.gov.cn/q/"
_SEPARATORS = re.compile(r"[\s-]+")


def mint_query_code() -> str:
    """A fresh canonical query code: 16 random Crockford symbols (80 bits) and the check symbol."""
    body = "".join(CROCKFORD[secrets.randbelow(32)] for _ in range(16))
    return body + check_symbol(body)


def format_query_code(code: str) -> str:
    """7KQ2M9XDPA4TH6WRP → 7KQ2-M9XD-PA4T-H6WR-P (the printed form)."""
    return "-".join([code[0:4], code[4:8], code[8:12], code[12:16], code[16:]])


def receipt_url(code: str) -> str:
    """The URL a notice's QR carries for ``code`` (canonical form)."""
    return RECEIPT_URL_PREFIX + code


def parse_receipt_code(text: str) -> str | None:
    """The canonical code in a notice's QR payload (the receipt URL) or a typed code (dashes, spaces and
    lower case tolerated); None for anything else, including the same path on another host."""
    text = text.strip()
    if text.startswith(RECEIPT_URL_PREFIX):
        candidate = text[len(RECEIPT_URL_PREFIX):]
    elif "/" in text or ":" in text:
        return None
    else:
        candidate = _SEPARATORS.sub("", text).upper()
    return candidate if is_query_code(candidate) else None
