"""``kiosk-device ioboard status|light|buzz|listen|update``: the technician's check of the IO board
(status light, buzzer, tamper switch, presence sensor, help button, Pi watchdog) by its port URL, and
the update of its firmware from a folder whose ``firmware.json`` manifest is signed like central's
commands (a key of the terminal's ``[sync.command_keys]``).

Exit status: 0 done, 2 usage, 3 ``listen`` timed out before ``--count`` events, 4 device error, 5 the
firmware folder was refused before anything was sent (unsigned, wrongly signed, truncated or altered
files), 6 the board did not take the update and runs the version named (one line on stderr with the
error code).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import time
from enum import IntEnum
from pathlib import Path
from typing import Any

from drivers.ioboard import (
    BuzzPattern,
    Color,
    FirmwareError,
    FirmwareImage,
    FirmwareInputError,
    IoBoard,
    IoBoardError,
    IoEvent,
    Pattern,
)

INPUT_EVENTS = ("tamper", "presence", "help")


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2
    TIMEOUT = 3
    DEVICE = 4
    REFUSED = 5
    NOT_UPDATED = 6


MANIFEST = "firmware.json"


def _names(enum_type) -> list[str]:
    return [member.name.lower() for member in enum_type]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="handshake and print the board's status as JSON")
    light = actions.add_parser("light", help="set the status light")
    light.add_argument("color", choices=_names(Color))
    light.add_argument("pattern", nargs="?", default="steady", choices=_names(Pattern))
    buzz = actions.add_parser("buzz", help="play a buzzer pattern")
    buzz.add_argument("pattern", choices=_names(BuzzPattern))
    listen = actions.add_parser("listen", help="print one JSON line per board event")
    listen.add_argument("--count", type=int, default=1, help="input events to wait for (0: until --timeout)")
    listen.add_argument("--timeout", type=float, default=30.0, help="seconds to listen in all")
    update = actions.add_parser("update", help=f"update the firmware from a folder with a signed {MANIFEST}")
    update.add_argument("--files", required=True, type=Path, help=f"folder of the firmware files and {MANIFEST}")
    update.add_argument("--config", default=None,
                        help="the terminal's configuration, whose [sync.command_keys] sign the manifest "
                             "(default: $KIOSK_CONFIG)")
    update.add_argument("--restart-timeout", type=float, default=90.0,
                        help="seconds to wait for the board after the commit (covers its 60 s trial)")
    for sub in (status, light, buzz, listen, update):
        sub.add_argument("--port", required=True, help="pyserial URL or device path of the IO board")


def _fail(code: ExitCode, reason: str) -> int:
    print(f"kiosk-device ioboard: {reason}", file=sys.stderr, flush=True)
    return int(code)


def _print(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _event_dict(event: IoEvent) -> dict:
    if event.status is not None:
        return {"event": event.kind, **event.status.to_dict()}
    return {"event": event.kind, "value": event.value}


def _listen(args: argparse.Namespace) -> int:
    if args.count < 0 or args.timeout <= 0:
        return _fail(ExitCode.USAGE, "--count must not be negative and --timeout must be positive")
    events: queue.Queue[IoEvent] = queue.Queue()
    received = 0
    # Heartbeats keep the board's Pi watchdog calm while a technician listens.
    with IoBoard(args.port, events.put, heartbeat_interval=5.0):
        deadline = time.monotonic() + args.timeout
        while args.count == 0 or received < args.count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                break
            _print(_event_dict(event))
            received += event.kind in INPUT_EVENTS
    if args.count and received < args.count:
        return _fail(ExitCode.TIMEOUT, f"timed out after {args.timeout:g} s with {received} of {args.count} events")
    return int(ExitCode.OK)


def signed_image(folder: Path, config: str | None) -> FirmwareImage:
    """The firmware in ``folder`` once its manifest's signature and every file's size and SHA-256 are
    checked. Raises FirmwareInputError naming what is wrong."""
    from edge_sync.config import read_key_tables
    from edge_sync.crypto import SignatureError, load_public_keys, verify_signed

    try:
        manifest: Any = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FirmwareInputError(f"{folder / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict):
        raise FirmwareInputError(f"{MANIFEST}: not a JSON object")
    path = config or os.environ.get("KIOSK_CONFIG")
    if not path:
        raise FirmwareInputError("no accepted signing keys: give --config (the terminal's configuration)")
    try:
        command_keys, _ = read_key_tables(path)
        key_id = verify_signed(manifest, load_public_keys(command_keys))
    except SignatureError as exc:
        raise FirmwareInputError(f"{MANIFEST} refused: {exc}") from None
    except ValueError as exc:  # the configuration itself (edge_sync's SyncConfigError is one)
        raise FirmwareInputError(f"signing keys from {path}: {exc}") from None
    image = FirmwareImage.from_folder(folder, manifest)
    print(f"kiosk-device ioboard: {MANIFEST} signed by {key_id}: firmware {image.version}, "
          f"{len(image.files)} files, {image.total_bytes} bytes", file=sys.stderr, flush=True)
    return image


def _update(args: argparse.Namespace) -> int:
    try:
        image = signed_image(args.files, args.config)
    except FirmwareInputError as exc:
        return _fail(ExitCode.REFUSED, f"{exc.code}: {exc}")
    try:
        with IoBoard(args.port) as board:
            result = board.update_firmware(image.files, image.version, restart_timeout=args.restart_timeout)
    except FirmwareError as exc:
        code = ExitCode.REFUSED if isinstance(exc, FirmwareInputError) else ExitCode.NOT_UPDATED
        return _fail(code, f"{exc.code}: {exc}")
    _print({"updated": True, "previous": result.previous_version, "version": result.version,
            "files": list(result.files), "bytes": result.bytes_sent, "seconds": round(result.seconds, 2)})
    return int(ExitCode.OK)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "listen":
            return _listen(args)
        if args.action == "update":
            return _update(args)
        with IoBoard(args.port) as board:
            if args.action == "status":
                info = board.info
                _print({"connected": True, "protocol": info.protocol_version if info else None,
                        "firmware": info.firmware_version if info else None, **board.status().to_dict()})
            elif args.action == "light":
                board.set_light(args.color, args.pattern)
                _print({"light": args.color, "pattern": args.pattern})
            elif args.action == "buzz":
                board.buzz(args.pattern)
                _print({"buzzer": args.pattern})
            else:
                return _fail(ExitCode.USAGE, f"unknown action {args.action!r}")
    except IoBoardError as exc:
        return _fail(ExitCode.DEVICE, f"{exc.code}: {exc}")
    return int(ExitCode.OK)
