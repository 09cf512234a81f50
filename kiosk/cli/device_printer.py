"""``kiosk-device printer status|test --port URL``: the technician's printer check.

Exit codes: 0 confirmed (test) / answered (status); 2 usage; 3 paper out; 4 cover open;
5 offline or no answer; 6 no confirmation in time; 7 other printer error (cutter, mechanism, document).
"""
from __future__ import annotations

import argparse
import json
import sys

from drivers.printer import (
    PROFILES,
    CoverOpen,
    PaperOut,
    Printer,
    PrinterError,
    PrinterOffline,
    PrintTimeout,
    RenderError,
    profile_for_paper,
)
from kiosk.receipts import test_page

EXIT_OK, EXIT_PAPER_OUT, EXIT_COVER_OPEN, EXIT_OFFLINE, EXIT_TIMEOUT, EXIT_OTHER = 0, 3, 4, 5, 6, 7
EXIT_CODES = {PaperOut: EXIT_PAPER_OUT, CoverOpen: EXIT_COVER_OPEN, PrinterOffline: EXIT_OFFLINE,
              PrintTimeout: EXIT_TIMEOUT}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("status", "test"), help="status: print the status as JSON; "
                        "test: print the test page and wait for the printer's confirmation")
    parser.add_argument("--port", required=True,
                        help="pyserial URL or path: /dev/ttyUSB0, socket://HOST:9100, a pty")
    parser.add_argument("--paper", type=int, choices=(58, 80), default=80, help="paper width (generic profile)")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="a named printer profile (overrides --paper)")
    parser.add_argument("--baud", type=int, default=None, help="serial speed (default: the profile's)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the confirmation")


def exit_code(exc: PrinterError) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return EXIT_OTHER


def run(args: argparse.Namespace) -> int:
    profile = PROFILES[args.profile] if args.profile else profile_for_paper(args.paper)
    printer = Printer(args.port, profile, baudrate=args.baud)
    try:
        if args.action == "status":
            try:
                status = printer.status()
            except PrinterError as exc:
                print(json.dumps({"online": False, "paper": None, "cover": None,
                                  "error": f"{exc.code}: {exc}"}))
                return exit_code(exc)
            print(json.dumps(status.to_dict()))
            return EXIT_OK
        try:
            result = printer.print_document(test_page(f"profile {profile.name}"), timeout=args.timeout)
        except PrinterError as exc:
            print(json.dumps({"printed": False, "reason": exc.code, "detail": str(exc)}))
            print(f"printer test failed: {exc.code}: {exc}", file=sys.stderr)
            return exit_code(exc)
        except RenderError as exc:
            print(json.dumps({"printed": False, "reason": "render_error", "detail": str(exc)}))
            return EXIT_OTHER
        print(json.dumps({"printed": True, "bytes": result.bytes_sent, "paper": result.paper.value,
                          "seconds": round(result.seconds, 3)}))
        return EXIT_OK
    finally:
        printer.close()
