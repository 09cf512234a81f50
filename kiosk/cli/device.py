"""``kiosk-device DEVICE ACTION …``: the technician's tools for checking one device by its port URL."""
from __future__ import annotations

from kiosk.cli.dispatch import dispatch

COMMANDS = {
    "idcard": ("kiosk.cli.device_idcard", "ID-card reader: read a card"),
    "scanner": ("kiosk.cli.device_scanner", "QR scanner: listen for scans"),
    "printer": ("kiosk.cli.device_printer", "thermal printer: status and test page"),
    "camera": ("kiosk.cli.device_camera", "document camera: capture pages to a PDF"),
    "ioboard": ("kiosk.cli.device_ioboard", "IO board: handshake, light, buzzer, events, firmware update"),
}


def main(argv: list[str] | None = None) -> int:
    return dispatch("kiosk-device", "Technician tools for the terminal's devices.", COMMANDS, argv)
