"""``kiosk-sim DEVICE …``: one sub-command per simulator. Each simulator package has a ``cli`` module
with ``add_arguments(parser)`` and ``run(args) -> int``; they are imported only when chosen so that a
missing optional dependency of one simulator never breaks the others."""
from __future__ import annotations

import argparse
import importlib
import sys

SIMULATORS = {
    "idcard": ("simulators.idcard.cli", "ID-card reader (SAM serial protocol)"),
    "scanner": ("simulators.scanner.cli", "serial QR/barcode scanner module"),
    "printer": ("simulators.printer.cli", "ESC/POS thermal printer"),
    "camera": ("simulators.camera.cli", "document camera page generator"),
    "ioboard": ("simulators.ioboard.cli", "IO board running the real firmware"),
    "central": ("simulators.central.cli", "central platform over MQTT"),
    "hall": ("simulators.hall.cli", "the whole hall: broker, central, every device and the terminal"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="kiosk-sim", description="Hardware and platform simulators.")
    sub = parser.add_subparsers(dest="device", metavar="DEVICE")
    for name, (_, help_text) in SIMULATORS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SIMULATORS:
        parser.print_help(sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(SIMULATORS[argv[0]][0])
    sub_parser = argparse.ArgumentParser(prog=f"kiosk-sim {argv[0]}", description=SIMULATORS[argv[0]][1])
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
