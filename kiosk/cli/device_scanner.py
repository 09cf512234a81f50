"""``kiosk-device scanner listen``: prints one JSON line per scan so a technician can check the scanner
and see whether a notice's QR is recognised as a receipt code (classified as the kiosk does, and if not,
the cause).

Exit status: 0 when ``--count`` scans arrived (or, with ``--count 0``, when ``--timeout`` ended the
listening), 3 when the time ran out first, 4 on a device error; the reason is one line on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from enum import IntEnum

from drivers.scanner import BadPayload, Scan, Scanner, ScannerError
from kiosk.adapters import scan_event


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2
    TIMEOUT = 3
    DEVICE = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listen = actions.add_parser("listen", help="print one JSON line per scan")
    listen.add_argument("--port", required=True, help="pyserial URL or device path of the scanner")
    listen.add_argument("--count", type=int, default=1, help="scans to wait for (0: until --timeout)")
    listen.add_argument("--timeout", type=float, default=30.0, help="seconds to listen in all (0: no limit)")
    listen.add_argument("--baud", type=int, default=9600, help="baud rate of a UART scanner (default 9600)")
    listen.add_argument("--dedup", type=float, default=0.0,
                        help="drop a payload repeated within this many seconds (default: keep all)")


def _fail(code: ExitCode, reason: str) -> int:
    print(f"kiosk-device scanner: {reason}", file=sys.stderr, flush=True)
    return int(code)


def scan_line(scan: Scan) -> str:
    """One scan as the technician's JSON line: the escaped text, how it decoded, and what the kiosk makes of it."""
    event = scan_event(scan)
    cause = event.cause.value if event.cause is not None else None
    return json.dumps({**scan.to_dict(), "kind": event.kind.value, "code": event.code, "cause": cause},
                      ensure_ascii=False)


def listen(args: argparse.Namespace) -> int:
    if args.count < 0 or args.timeout < 0:
        return _fail(ExitCode.USAGE, "--count and --timeout must not be negative")
    deadline = None if args.timeout == 0 else time.monotonic() + args.timeout
    received = 0
    try:
        with Scanner(args.port, baudrate=args.baud, dedup_window=args.dedup) as scanner:
            while args.count == 0 or received < args.count:
                remaining = 1.0 if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    scan = scanner.read_scan(timeout=min(remaining, 1.0))
                except BadPayload as exc:  # not fatal: the next scan may be fine
                    print(f"kiosk-device scanner: warning: {exc}", file=sys.stderr, flush=True)
                    continue
                if scan is not None:
                    received += 1
                    print(scan_line(scan), flush=True)
    except ScannerError as exc:
        return _fail(ExitCode.DEVICE, f"{exc.code}: {exc}")
    if args.count and received < args.count:
        return _fail(ExitCode.TIMEOUT, f"timed out after {args.timeout:g} s with {received} of {args.count} scans")
    return int(ExitCode.OK)


def run(args: argparse.Namespace) -> int:
    if args.action == "listen":
        return listen(args)
    return _fail(ExitCode.USAGE, f"unknown action {args.action!r}")
