"""The terminal's local API called the way its page calls it: JSON bodies, and on state-changing requests
the page token (``GET /api/token`` → ``X-Kiosk-Token``) when the terminal issues one."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TOKEN_HEADER = "X-Kiosk-Token"


class Api:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            status, answer = self._send("GET", "/api/token", None, {})
            self._token = str(answer.get("token", "")) if status == 200 and isinstance(answer, dict) else ""
        return self._token

    def _send(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method,
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        token = self.token() if method == "POST" else ""
        return self._send(method, path, body, {TOKEN_HEADER: token} if token else {})

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        assert status == 200, (path, status, answer)
        return answer
