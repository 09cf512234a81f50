"""``kiosk …``: run the terminal, the simulated hall, and operations commands."""
from __future__ import annotations

from kiosk.cli.dispatch import dispatch

COMMANDS = {
    "hall": ("kiosk.cli.hall", "run the whole hall with every device simulated"),
    "run": ("kiosk.cli.run", "run the terminal application"),
    "sync": ("kiosk.cli.sync", "edge_sync status and self-test"),
    "doctor": ("kiosk.cli.doctor", "check devices, broker, clock, disk and catalog"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("kiosk", "Self-service terminal (政务服务自助终端).", COMMANDS, argv)
