"""Hostile neighbours against the real terminal process: another site's page cannot change state (Origin
and page token), and help calls, queue tickets and agent PIN attempts (offline included) are limited,
each with a clear message; the terminal keeps serving its own page."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.faults.rig import wait_events, wait_until

pytestmark = pytest.mark.integration


def raw_post(url: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url + path.lstrip("/"), data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_cross_origin_pages_and_floods_are_refused_with_clear_messages(rig_factory, record_figures):
    rig = rig_factory()
    screen = rig.start_terminal()
    # Another site's page in the same browser: its Origin, and no token it could have read.
    refused = [raw_post(screen.url, "/api/maint/lock", {"Origin": "http://evil.example"}),
               raw_post(screen.url, "/api/help", {}),
               raw_post(screen.url, "/api/queue", {"Origin": screen.url.rstrip("/"), "X-Kiosk-Token": "x"})]
    assert [(s, b["error"]) for s, b in refused] == [(403, "cross_origin"), (403, "bad_token"), (403, "bad_token")]
    assert screen.status()["locked"] is None

    helps = [screen.post("/api/help") for _ in range(6)]
    assert all(status == 200 for status, _ in helps) and sum(1 for _, b in helps if b.get("limited")) == 3
    tickets = [screen.post("/api/queue", {"category": "SOC"}) for _ in range(8)]
    limited = [b for s, b in tickets if s == 429]
    assert [s for s, _ in tickets[:6]] == [200] * 6 and len(limited) == 2
    assert "取号太频繁" in limited[0]["message"]

    # Agent PINs: guessed at the reader while central cannot be reached (the offline day-token path).
    rig.hall.broker.stop()
    wait_until(lambda: not screen.status()["online"], 20, "offline")
    rig.hall.send("idcard", "present 1")
    wait_until(lambda: screen.get("/api/session").get("card"), 15, "the card")
    guesses = [screen.post("/api/agent/login", {"agent_id": "0031", "pin": f"{n:06d}"}) for n in range(7)]
    statuses = [s for s, _ in guesses]
    assert statuses[:5] == [503] * 5 and statuses[5:] == [429, 429], statuses
    assert "错误次数过多" in guesses[-1][1]["message"]
    rig.hall.broker.start()
    calls = wait_events(rig.central_db, "help.requested", lambda e: e.get("source") == "screen", 3, timeout=60)
    assert len(calls) == 3
    assert screen.get("/api/home")["categories"]          # its own page is still served
    record_figures({"fault": "cross-origin posts and floods", "cross_origin_refused": len(refused),
                    "help_presses": 6, "help_events_at_central": len(calls), "tickets_asked": 8,
                    "tickets_refused": len(limited), "pin_guesses": 7, "pin_guesses_refused": statuses.count(429)})
