"""Calling the terminal's local API as its own page does: state-changing requests carry the page token
(``GET /api/token``) in ``X-Kiosk-Token``."""
from __future__ import annotations

import json
import urllib.request

from kiosk.web.guards import TOKEN_HEADER


def page_token(base_url: str, timeout: float = 5.0) -> str:
    """A fresh page token from the terminal at ``base_url`` (``http://127.0.0.1:PORT/``)."""
    with urllib.request.urlopen(base_url.rstrip("/") + "/api/token", timeout=timeout) as response:
        return str(json.loads(response.read())["token"])


def token_headers(base_url: str) -> dict[str, str]:
    return {TOKEN_HEADER: page_token(base_url), "Content-Type": "application/json"}
