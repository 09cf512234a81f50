"""``kiosk-device idcard read``: read one card and print it as one JSON object (number and address masked
unless ``--reveal``). Exit 0 read, 3 no card in time, 4 device or protocol error (reason on stderr).
``kiosk-device idcard sam``: check the reader's security module and print its ID."""
from __future__ import annotations

import argparse
import json
import sys

from drivers.idcard import CardRemoved, IdCardError, IdCardReader, NoCard

EXIT_OK = 0
EXIT_NO_CARD = 3
EXIT_DEVICE = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    read = sub.add_parser("read", help="find, select and read one card")
    read.add_argument("--port", required=True, help="pyserial URL or path, e.g. /dev/ttyUSB0, socket://host:port")
    read.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to wait for a card")
    read.add_argument("--baud", type=int, default=115200, help="line rate of the reader")
    read.add_argument("--reveal", action="store_true",
                      help="print the full ID number and address (only with the holder present)")
    sam = sub.add_parser("sam", help="SAM status and SAM ID (no card needed)")
    sam.add_argument("--port", required=True, help="pyserial URL or path")
    sam.add_argument("--baud", type=int, default=115200, help="line rate of the reader")


def _fail(code: int, message: str) -> int:
    print(f"kiosk-device idcard: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    return run_sam(args) if args.action == "sam" else run_read(args)


def run_sam(args: argparse.Namespace) -> int:
    try:
        with IdCardReader(args.port, args.baud) as reader:
            reader.sam_status()
            sam_id = reader.read_sam_id()
    except IdCardError as exc:
        return _fail(EXIT_DEVICE, f"{exc.code}: {exc}")
    print(json.dumps({"sam": "ok", "sam_id": sam_id}))
    return EXIT_OK


def run_read(args: argparse.Namespace) -> int:
    try:
        with IdCardReader(args.port, args.baud) as reader:
            identity = reader.read_card(timeout=args.timeout)
    except NoCard:
        return _fail(EXIT_NO_CARD, f"no card within {args.timeout:g} s ({NoCard.code})")
    except CardRemoved as exc:
        return _fail(EXIT_NO_CARD, f"card removed before it could be read ({exc.code})")
    except IdCardError as exc:
        return _fail(EXIT_DEVICE, f"{exc.code}: {exc}")
    print(json.dumps(identity.to_dict(reveal=args.reveal), ensure_ascii=False))
    return EXIT_OK
