"""The board's Pi watchdog end to end: the driver's heartbeats keep the relay quiet; when they stop the
real firmware pulses the relay only after the timeout, waits out the boot grace, and never cycles again
before the minimum interval. Asserts on the order of the firmware's own reports, not on wall time."""
from __future__ import annotations

import time

import pytest

from drivers.ioboard import WatchdogState
from tests.ioboard.conftest import connect, start_sim

pytestmark = [pytest.mark.integration, pytest.mark.micropython]

# Heartbeats every 0.2 s against a 1.5 s timeout: a loaded CI machine may stall for a second and still pass.
TIMEOUT_MS, MIN_CYCLE_MS = 1500, 3500
WATCHDOG_ARGS = ["--heartbeat-timeout", "1.5", "--boot-grace", "0.4", "--min-cycle", "3.5", "--relay-pulse", "0.1"]


def _lines_for(sim, seconds: float) -> list[dict]:
    lines, deadline = [], time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            lines.append(sim.next_json(remaining))
        except TimeoutError:
            break
    return lines


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_heartbeat_loss_cycles_the_pi_after_timeout_and_not_faster_than_min_interval(interpreter: str) -> None:
    sim = start_sim(interpreter, *WATCHDOG_ARGS)
    board = None
    try:
        board, _ = connect(sim, heartbeat_interval=0.2)
        assert sim.wait_json(lambda o: "watchdog" in o and o["watchdog"] != "grace") == {"watchdog": "watching"}
        # More than twice the timeout with heartbeats flowing: no cycle.
        beating = _lines_for(sim, 2 * TIMEOUT_MS / 1000)
        assert not [line for line in beating if "relay" in line or line.get("watchdog") not in (None, "watching")]
        assert board.status().power_cycles == 0

        board.enable_heartbeats(False)
        first = sim.wait_json(lambda o: o.get("relay") == "pulse", timeout=15)
        assert first["cycle"] == 1 and first["since_last_cycle_ms"] is None
        assert first["silent_ms"] >= TIMEOUT_MS  # not before the timeout (the firmware's own clock)
        second = None
        order = []
        while second is None:
            line = sim.wait_json(lambda o: "relay" in o or "watchdog" in o, timeout=15)
            if line.get("relay") == "pulse":
                second = line
            else:
                order.append(line.get("watchdog") or f"relay {line['relay']}")
        # Pulse, release, boot grace, watching again, held off by the minimum interval, then cycle.
        assert order == ["pulsing", "relay off", "grace", "watching", "holdoff"], order
        assert second["cycle"] == 2
        assert second["since_last_cycle_ms"] >= MIN_CYCLE_MS
        assert second["silent_ms"] >= TIMEOUT_MS

        board.enable_heartbeats(True)
        assert sim.wait_json(lambda o: o.get("watchdog") == "watching", timeout=15)
        status = board.status()
        assert status.power_cycles == 2
        assert status.watchdog == WatchdogState.WATCHING
    finally:
        if board is not None:
            board.close()
        sim.stop()
