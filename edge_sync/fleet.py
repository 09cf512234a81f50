"""Flow control between a terminal and a central platform that serves a whole city (contract addendum,
"Fleet"): central's retained online state, its "busy, retry after N s" answer, and the jittered back-off
of re-sends. The models validate what arrives; the schedule decides when an unacked message goes again."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Literal

from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import BaseModel, ConfigDict, Field

CENTRAL_STATE_PREFIX = "gov/v1/central/state/"
CENTRAL_STATE_FILTER = CENTRAL_STATE_PREFIX + "+"
MANIFEST_TOPIC = "gov/v1/catalog/manifest"
OLD_CATALOG_FILTER = "gov/v1/catalog/#"
MAX_RETRY_AFTER_S = 600.0
# A stale "offline" left retained by a central instance that never came back must not silence a
# terminal for ever: after this long, timer re-sends resume as if central's state were unknown.
OFFLINE_HOLD_S = 300.0


def fleet_filters() -> list[tuple[str, SubscribeOptions]]:
    """Downlink filters of the addendum: the catalog manifest (retained copy only on a new subscription,
    so a reconnect does not fetch it again; parts are fetched per version when a manifest needs them)
    and central's online states (retained copies every time: they say how things stand now)."""
    return [(MANIFEST_TOPIC, SubscribeOptions(qos=1, retainHandling=1)),
            (CENTRAL_STATE_FILTER, SubscribeOptions(qos=1, retainHandling=0))]


def part_topic(version: int, n: int) -> str:
    return f"gov/v1/catalog/{version}/part/{n}"


def part_filters(version: int, have: set[int], parts: int) -> list[str]:
    """Filters that bring exactly the parts of ``version`` not held yet (one wildcard when none is)."""
    if not have:
        return [f"gov/v1/catalog/{version}/part/+"]
    return [part_topic(version, n) for n in range(parts) if n not in have]


class CentralState(BaseModel):
    """Birth or will of one central instance on ``gov/v1/central/state/{instance}`` (retained), like the
    STATE message of a Sparkplug host application. ``epoch`` grows with every connection of the instance."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["central.state"]
    v: int = 1
    instance: str = Field(min_length=1, max_length=64)
    online: bool
    epoch: int = Field(ge=0)
    at: str | None = None


class Busy(BaseModel):
    """Central did not take message ``ref``: send it again (same msg_id) not before ``retry_after_s``."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["busy"]
    v: int = 1
    ref: str = Field(min_length=1, max_length=128)
    retry_after_s: float = Field(ge=0, le=86400)
    at: str | None = None
    server_time: str | None = None


class Presence:
    """What the terminal knows of central's instances from their retained states. Thread-safe.

    ``update`` returns True when an instance came online with a new epoch: everything unacked should go
    again at once (whatever was sent while it was away may have reached no consumer). The first state
    seen of an instance counts only when it arrives live: a retained one just says how things stand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, tuple[int, bool]] = {}
        self._offline_since: float | None = None

    def update(self, state: CentralState, retained: bool = False) -> bool:
        with self._lock:
            known = self._instances.get(state.instance)
            first = known is None
            if known is not None and state.epoch < known[0]:
                return False            # an old will arriving after a newer birth
            if known is not None and state.epoch == known[0] and state.online == known[1]:
                return False            # the retained state again after a reconnect
            self._instances[state.instance] = (state.epoch, state.online)
            any_online = any(online for _, online in self._instances.values())
            if any_online:
                self._offline_since = None
            elif self._offline_since is None:
                self._offline_since = time.monotonic()
            return state.online and not (first and retained)

    def forget(self, instance: str) -> None:
        """A cleared retained state: the instance is gone for good."""
        with self._lock:
            self._instances.pop(instance, None)
            if any(online for _, online in self._instances.values()) or not self._instances:
                self._offline_since = None

    def central_away(self) -> bool:
        """True while every known instance says offline (and not for longer than OFFLINE_HOLD_S)."""
        with self._lock:
            since = self._offline_since
        return since is not None and time.monotonic() - since < OFFLINE_HOLD_S

    def instances(self) -> dict[str, bool]:
        with self._lock:
            return {name: online for name, (_, online) in self._instances.items()}


@dataclass
class Backoff:
    """Delays of re-sends of one unacked message: ``base × 2^attempt`` capped at ``cap``, times a jitter
    factor in [1, 1 + jitter), so that a fleet's re-sends after a common cause spread out."""

    base: float
    cap: float
    jitter: float = 0.5
    rng: random.Random | None = None

    def delay(self, attempt: int) -> float:
        raw = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return raw * (1.0 + self.jitter * (self.rng or _RNG).random())

    def hold(self, retry_after_s: float) -> float:
        """How long to wait after a busy answer: what central asked for, jittered the same way."""
        wanted = min(MAX_RETRY_AFTER_S, max(0.0, retry_after_s))
        return wanted * (1.0 + self.jitter * (self.rng or _RNG).random())


_RNG = random.Random()
