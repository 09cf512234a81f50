"""Busy answers against the real central simulator: a backlog built while central is paused makes it
answer busy; terminals hold, re-send after the time it asked for, and every case arrives once, in order."""
from __future__ import annotations

import pytest

from tests.fleet.harness import Fleet, assert_exactly_once_in_order, command, start_central, stats, wait_until

pytestmark = pytest.mark.integration


def test_busy_central_is_waited_for_and_loses_nothing(broker, tmp_path):
    central = start_central(broker.url, tmp_path, None, "--busy-after", "0.05")
    fleet = Fleet(broker.url, tmp_path, 3, ack_timeout_s=60.0)
    try:
        fleet.start()
        command(central, "pause")
        fleet.submit(100)
        for engine in fleet.engines:
            engine.send_event("ticket.issued", {"number": "A001", "category": "SOC", "priority": "normal"})
        wait_until(lambda: stats(central)["held"] >= 303, 20, "backlog held by the paused central")
        command(central, "resume")
        fleet.wait_empty(60)
        assert_exactly_once_in_order(central.ready["db"], fleet)
        assert stats(central)["busy"] > 0
        assert sum(e.drain.stats["busy"] for e in fleet.engines) > 0
        assert sum(e.drain.stats["resent"] for e in fleet.engines) > 0     # after the hold, not a timeout
    finally:
        fleet.stop()
        central.stop()
