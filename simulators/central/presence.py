"""Central's retained online state (contract addendum, "Fleet"), as a Sparkplug host application
announces itself: ``gov/v1/central/state/{instance}``, retained, QoS 1 — a birth after every
subscription, and the same message with ``online: false`` as the will and at a clean stop. The epoch
is new for every connection, so a terminal that sees a newer birth knows central may have missed what
was sent while it was away, and re-sends at once."""
from __future__ import annotations

import json
import re
import time

from simulators.central.context import real_now

STATE_PREFIX = "gov/v1/central/state/"
INSTANCE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def state_topic(instance: str) -> str:
    return STATE_PREFIX + instance


def check_instance(name: str) -> str:
    """Returns ``name``; raises ValueError unless it is 1-64 letters, digits, '.', '_' or '-'."""
    if not INSTANCE_RE.fullmatch(name or ""):
        raise ValueError(f"central instance name {name!r}: 1-64 letters, digits, '.', '_' or '-'")
    return name


class Announcer:
    """The state messages of one instance; ``next_epoch()`` before every connection."""

    def __init__(self, instance: str) -> None:
        self.instance = check_instance(instance)
        self.topic = state_topic(instance)
        self.epoch = 0

    def next_epoch(self) -> int:
        # Milliseconds of the wall clock, never going back within this process (like Sparkplug's timestamp).
        self.epoch = max(self.epoch + 1, int(time.time() * 1000))
        return self.epoch

    def payload(self, online: bool) -> bytes:
        return json.dumps({"type": "central.state", "v": 1, "instance": self.instance, "online": online,
                           "epoch": self.epoch, "at": real_now()}, separators=(",", ":")).encode()
