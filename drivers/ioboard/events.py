"""What the IO board driver hands to the application: events, board identity, and the names of the
settings and event kinds as the application spells them."""
from __future__ import annotations

from dataclasses import dataclass

from drivers.ioboard import protocol as p

# Event kind on the wire -> (event name, names of its values).
EVENT_NAMES = {
    p.EventKind.TAMPER: ("tamper", {0: "closed", 1: "open"}),
    p.EventKind.PRESENCE: ("presence", {0: "off", 1: "on"}),
    p.EventKind.HELP: ("help", {1: "pressed"}),
    p.EventKind.BOOT: ("board_boot", {0: "power_on", 1: "watchdog", 2: "other"}),
}
# configure() keyword (seconds) -> CONFIG key.
SETTINGS = {
    "heartbeat_timeout": p.ConfigKey.HEARTBEAT_TIMEOUT,
    "boot_grace": p.ConfigKey.BOOT_GRACE,
    "min_cycle": p.ConfigKey.MIN_CYCLE,
    "relay_pulse": p.ConfigKey.RELAY_PULSE,
    "debounce": p.ConfigKey.DEBOUNCE,
    "board_heartbeat": p.ConfigKey.BOARD_HEARTBEAT,
    "event_retry": p.ConfigKey.EVENT_RETRY,
}


@dataclass(frozen=True)
class IoEvent:
    """What the board reported. ``kind``: tamper (open/closed), presence (on/off), help (pressed),
    board_boot (power_on/watchdog/other), board_status (``status`` set), board_lost, board_back."""

    kind: str
    value: str | None = None
    status: p.BoardStatus | None = None


@dataclass(frozen=True)
class BoardInfo:
    protocol_version: int
    firmware_version: str
