"""What every handler of the central simulator shares: the simulated clock, the test controls set from
stdin, the catalog, keys and agents, and the shape of an outgoing message."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from simulators.central.catalog import Catalog
from simulators.central.signing import KeyRing
from simulators.central.workdays import CHINA_TZ, iso


class SimClock:
    """Simulated time for case progress: starts at the real time, runs ``speed`` simulated seconds per
    real second, and jumps forward with ``advance``. Acks' ``server_time`` stays real time (a kiosk sets
    its clock from it), only case steps, lights and promised dates live on this clock."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        """``start``: the simulated moment (epoch seconds) to begin at instead of the real time — tests
        pin it to office hours, since a 即办 step received at 22:00 has only until midnight."""
        self.speed = speed
        self._real0 = time.time() if start is None else start
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._real0 + (time.monotonic() - self._mono0) * self.speed + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), CHINA_TZ)

    def advance(self, days: float) -> None:
        with self._lock:
            self._offset += days * 86400.0


def real_now() -> str:
    return iso(datetime.now(CHINA_TZ))


@dataclass
class Controls:
    """Fault injection for tests, set by stdin commands; read and consumed by the worker thread."""
    drop_acks: int = 0
    dup_acks: bool = False
    reject_next: str | None = None
    paused: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_reject(self) -> str | None:
        with self.lock:
            reason, self.reject_next = self.reject_next, None
            return reason

    def ack_copies(self) -> int:
        """How many times to publish the next ack: 0 (dropped), 1, or 2 (duplicated)."""
        with self.lock:
            if self.drop_acks > 0:
                self.drop_acks -= 1
                return 0
            return 2 if self.dup_acks else 1


@dataclass
class Outgoing:
    topic: str
    payload: dict
    correlation: bytes | None = None
    is_ack: bool = False
    retain: bool = False
    raw: bytes | None = None                     # binary payload instead of JSON (downlink blob chunks)
    user: list[tuple[str, str]] | None = None    # MQTT user properties

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Incoming:
    """One received up message, detached from paho."""
    topic: str
    payload: bytes
    user: dict[str, str]
    response_topic: str | None
    correlation: bytes | None
    expiry: int | None
    arrived: float  # time.monotonic() at receipt, for Message Expiry
    depth: int = 0  # messages queued ahead of it at receipt (flow control: busy answers)


@dataclass
class Context:
    catalog: Catalog
    keys: KeyRing
    agents: dict[str, dict]
    clock: SimClock
    controls: Controls
    pace: float | None = None
    bundles: Path | None = None   # downlink blobs served on request (update bundles)
