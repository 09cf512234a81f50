"""``kiosk …``: run the terminal, the simulated hall, and operations commands."""
from __future__ import annotations

from kiosk.cli.dispatch import dispatch

COMMANDS = {
    "run": ("kiosk.cli.run", "run the terminal application"),
    "sync": ("kiosk.cli.sync", "edge_sync status and self-test"),
    "doctor": ("kiosk.cli.doctor", "check devices, broker, clock, disk and catalog"),
    "provision": ("kiosk.cli.provision", "device key and certificate request; a local CA for development"),
    "broker-config": ("kiosk.cli.broker_config", "write a mosquitto configuration with TLS and the contract's ACLs"),
    "audit": ("kiosk.cli.audit", "verify the tamper-evident audit trail"),
    "assets": ("kiosk.cli.assets", "make the UI's generated files: pinyin dictionary, spoken prompts"),
    "update": ("kiosk.cli.update", "signed software updates: status, install, rollback, resume"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("kiosk", "Self-service terminal (政务服务自助终端).", COMMANDS, argv)
