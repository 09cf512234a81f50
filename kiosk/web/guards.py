"""Guards of the local API against hostile neighbours: the per-page token and Origin check that keep
another site's page (in a browser on this machine, or through DNS rebinding) from changing state, and
rate limits with a villager message on queue tickets and agent PIN attempts (online or offline)."""
from __future__ import annotations

import collections
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

TOKEN_HEADER = "X-Kiosk-Token"
TOKENS_KEPT = 32          # pages (tabs, reloads) whose tokens stay valid at once


class PageTokens:
    """Random tokens handed to the pages (``GET /api/token``, readable by a same-origin page only);
    every state-changing request must carry one. The newest ``TOKENS_KEPT`` stay valid."""

    def __init__(self) -> None:
        self._tokens: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = None
            while len(self._tokens) > TOKENS_KEPT:
                self._tokens.popitem(last=False)
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            return any(secrets.compare_digest(token, known) for known in self._tokens)


def same_origin(origin: str | None, host: str) -> bool:
    """A browser's Origin header names this server (``http://`` + the Host it asked for); a request
    without one (not from a browser page) passes this check and still needs the token."""
    return origin is None or origin == f"http://{host}"


@dataclass(frozen=True)
class Limit:
    """At most ``count`` counted requests per ``per_s`` seconds on a route; ``failures_only`` counts
    refused attempts only (PINs). ``message`` is what the villager reads when the limit is reached."""

    count: int
    per_s: float
    message: str
    failures_only: bool = False


# Help calls are limited in the help service itself (the IO board's button does not come through here);
# the maintenance PIN has its own lockout in the maintenance service.
LIMITS = {
    "/api/queue": Limit(6, 60.0, "取号太频繁，请稍后再试，或到服务台请工作人员帮您取号。"),
    "/api/agent/login": Limit(5, 300.0, "密码错误次数过多，请 5 分钟后再试，或联系工作人员。", failures_only=True),
}


class RateLimiter:
    """Sliding-window counts per route (one terminal, one person at a time: no per-client keys)."""

    def __init__(self, limits: dict[str, Limit] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = LIMITS if limits is None else limits
        self.clock = clock
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def blocked(self, path: str) -> str | None:
        """The limit's message when ``path`` is over its limit now, else None."""
        limit = self.limits.get(path)
        if limit is None:
            return None
        with self._lock:
            hits = self._window(path, limit)
            return limit.message if len(hits) >= limit.count else None

    def count(self, path: str, failed: bool) -> None:
        """Counts one request on ``path`` (``failed``: it was refused, e.g. a wrong PIN)."""
        limit = self.limits.get(path)
        if limit is None or (limit.failures_only and not failed):
            return
        with self._lock:
            self._window(path, limit).append(self.clock())

    def _window(self, path: str, limit: Limit) -> collections.deque[float]:
        hits = self._hits[path]
        edge = self.clock() - limit.per_s
        while hits and hits[0] <= edge:
            hits.popleft()
        return hits
