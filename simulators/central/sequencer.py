"""Each device's cases in seq order when several central instances share the work, without making the
instances wait for each other: every device has one owner among the live instances (a hash of its id
over the instances that keep a heartbeat in the shared store). An instance that receives a case of a
device it does not own parks it in ``pending_cases`` (one insert, committed before the PUBACK), and the
owner handles parked and received cases of its devices together, in seq order.

A case whose seq is more than one above the device's highest decided seq (a device never seen starts at
seq 1) is parked too, until the gap fills or ORDER_WAIT_S pass in which nothing new came from the device
(its seq did not move and no other case of it arrived here or was parked by another instance): a gap the
device really has, and the next one is taken anyway. The wait counts from the latest of: the gap seen,
the device's latest arrival, and this instance's online announcement. Terminals re-send what went
unacked only once they see an instance come online (contract addendum, "central.state"), so a gap
cannot fill before that, and no gap is taken while the instance has not announced itself (between its
subscription and its announcement, and while it is disconnected). While the device's cases keep coming,
the missing ones may be right behind them. Counting from the gap alone made a central started after a
kill take cases out of order on a loaded machine: catalog publication before the announcement, or the
rest of a burst ahead of the re-sent cases, outlasted ORDER_WAIT_S. A broker that routes each terminal to one
consumer (EMQX ``hash_clientid``, docs/fleet.md) makes parking rare; mosquitto's round-robin parks about
half of the cases, which is the price of order there."""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from simulators.central import store
from simulators.central.context import Incoming
from simulators.central.flow import PRIORITY, device_of, json_fields, kind_of

ORDER_WAIT_S = 3.0
HEARTBEAT_S = 1.0
LIVE_S = 5.0


@dataclass
class Sequencer:
    instance: str
    wait_s: float = ORDER_WAIT_S
    parked: int = 0
    taken_with_gap: int = 0
    _members: list[str] = field(default_factory=list)
    _beat: float = -1e9
    _since: dict[str, float] = field(default_factory=dict)   # device → when its wait for a gap began
    _heard: dict[str, float] = field(default_factory=dict)   # device → its latest new case (while it waits)
    _parked_seen: dict[str, int] = field(default_factory=dict)  # device → its parked cases at the last look
    # When terminals last learnt that this instance is online (monotonic); None: not (yet, or no more).
    _announced_at: float | None = None

    def announced(self, now: float) -> None:
        """This instance told the terminals it is online: from now on they re-send what is unacked."""
        self._announced_at = now

    def unannounced(self) -> None:
        """Disconnected: nothing re-sent can reach this instance until it announces itself again."""
        self._announced_at = None

    # -- membership ----------------------------------------------------------------------------------
    def members(self, conn: Any, now: float) -> list[str]:
        """The live instances (this one included), refreshed every HEARTBEAT_S."""
        if now - self._beat >= HEARTBEAT_S or not self._members:
            self._beat = now
            wall = time.time()
            conn.execute("INSERT INTO central_instances VALUES (?, ?) ON CONFLICT(instance) DO UPDATE "
                         "SET seen_at = excluded.seen_at", (self.instance, wall))
            rows = conn.execute("SELECT instance FROM central_instances WHERE seen_at >= ? ORDER BY instance",
                                (wall - LIVE_S,)).fetchall()
            self._members = [str(r[0]) for r in rows] or [self.instance]
        return self._members

    def owns(self, device: str) -> bool:
        members = self._members or [self.instance]
        return members[zlib.crc32(device.encode()) % len(members)] == self.instance

    def leave(self, conn: Any) -> None:
        conn.execute("DELETE FROM central_instances WHERE instance = ?", (self.instance,))

    # -- ordering -------------------------------------------------------------------------------------
    def plan(self, conn: Any, items: list[Incoming], now: float) -> list[Incoming]:
        """Inside the caller's transaction: the messages to handle now, requests first and each owned
        device's cases in seq order (parked ones included, removed from the park); parks the rest."""
        self.members(conn, now)
        others = [i for i in items if kind_of(i) != "case"]
        by_device: dict[str, list[Incoming]] = {}
        for incoming in items:
            if kind_of(incoming) == "case":
                by_device.setdefault(device_of(incoming), []).append(incoming)
        ready: list[Incoming] = []
        for device, cases in by_device.items():
            if not self.owns(device):
                for incoming in cases:
                    if not self._park(conn, device, incoming):
                        others.append(incoming)     # not a usable case: its handler answers it now
        owned = {d for d in by_device if self.owns(d)}
        owned |= {d for d in store.pending_devices(conn) if self.owns(d)}
        for device in sorted(owned):
            ready += self._in_order(conn, device, [c for c in by_device.get(device, [])], now)
        return sorted(others, key=lambda i: PRIORITY.get(kind_of(i), 9)) + ready

    def _in_order(self, conn: Any, device: str, received: list[Incoming], now: float) -> list[Incoming]:
        known = store.device_case_seq(conn, device, lock=True)
        parked = [(seq, Incoming(f"gov/v1/up/{device}/case", bytes(payload), {}, None, None, None, now), msg_id)
                  for seq, msg_id, payload in store.parked_cases(conn, device)]
        candidates = [(json_fields(i)[1], i, None) for i in received] + parked
        if received or len(parked) > self._parked_seen.get(device, 0):
            self._heard[device] = now
        candidates.sort(key=lambda c: (c[0] is not None, c[0] or 0))
        expected = (0 if known is None else known) + 1
        out: list[Incoming] = []
        left = len(parked)
        for seq, incoming, parked_id in candidates:
            if seq is not None and seq > expected:
                since = self._since.setdefault(device, now)
                announced = self._announced_at
                quiet_since = max(since, self._heard.get(device, now), announced if announced is not None else now)
                if announced is None or now - quiet_since < self.wait_s:
                    if parked_id is not None:
                        continue
                    if self._park(conn, device, incoming):
                        left += 1
                        continue
                self.taken_with_gap += 1
            if parked_id is not None:
                store.unpark(conn, device, parked_id)
                left -= 1
            out.append(incoming)
            if seq is not None and seq >= expected:
                expected = seq + 1
                self._since[device] = now          # the device moved on: a later gap waits afresh
        if left > 0:
            self._parked_seen[device] = left
        else:
            for waits in (self._since, self._heard, self._parked_seen):
                waits.pop(device, None)
        return out

    def _park(self, conn: Any, device: str, incoming: Incoming) -> bool:
        """Parks a case for its owner; False when it has no usable msg_id and seq (handled at once)."""
        msg_id, seq = json_fields(incoming)
        if msg_id is None or seq is None:
            return False
        self.parked += 1
        store.park(conn, device, seq, msg_id, incoming.payload, time.time())
        return True
