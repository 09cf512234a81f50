"""``kiosk-device idcard read``: read one card and print it as one JSON object (number and address masked
unless ``--reveal``). Exit 0 read, 3 no card in time, 4 device or protocol error (reason on stderr).
``kiosk-device idcard sam``: check the reader's security module and print its ID.
``kiosk-device idcard watch``: poll the reader and print one masked JSON line per card event until
``--timeout`` (0: until stopped); exit 0, or 4 when the reader cannot be opened."""
from __future__ import annotations

import argparse
import json
import sys
import threading

from drivers.idcard import CardEvent, CardRemoved, CardWatcher, IdCardError, IdCardReader, NoCard
from drivers.masking import mask_name

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
    watch = sub.add_parser("watch", help="print one masked JSON line per card event")
    watch.add_argument("--port", required=True, help="pyserial URL or path")
    watch.add_argument("--timeout", type=float, default=0.0, metavar="S", help="seconds to watch (0: until stopped)")
    watch.add_argument("--baud", type=int, default=115200, help="line rate of the reader")


def _fail(code: int, message: str) -> int:
    print(f"kiosk-device idcard: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    if args.action == "sam":
        return run_sam(args)
    if args.action == "watch":
        return run_watch(args)
    return run_read(args)


def run_watch(args: argparse.Namespace) -> int:
    """The watcher the terminal uses, its events printed masked as they come (never the full identity)."""
    out = threading.Lock()

    def show(event: CardEvent) -> None:
        line: dict[str, object] = {"event": event.kind.value}
        if event.identity is not None:
            line["card"] = {**event.identity.to_dict(reveal=False), "name": mask_name(event.identity.name)}
        if event.error is not None:
            line["error"] = event.error.code
        with out:
            print(json.dumps(line, ensure_ascii=False), flush=True)

    watcher = CardWatcher(args.port, show, baudrate=args.baud).start()
    try:
        threading.Event().wait(args.timeout if args.timeout > 0 else None)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return EXIT_OK


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
