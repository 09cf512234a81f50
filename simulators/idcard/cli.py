"""``kiosk-sim idcard``: a simulated SAM ID-card reader on a pty or TCP port, driven by stdin commands
``present N``, ``remove``, ``fault KIND[:TARGET]``, ``fault clear`` and ``quit``."""
from __future__ import annotations

import argparse
import sys
import threading

from simulators.idcard.cards import load_cards
from simulators.idcard.server import FAULT_KINDS, TARGETS, ReaderSimulator, parse_fault
from simulators.link import emit, open_link, print_ready, run_stdin_commands

BAUDS = (115200, 57600, 38400, 19200, 9600)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--identities", required=True, help="JSON file shaped like identities-sample.json")
    parser.add_argument("--present", type=int, default=None, metavar="N", help="card N in the field at start")
    parser.add_argument("--link", default="pty", help="pty (default) or tcp:HOST:PORT")
    parser.add_argument("--baud", type=int, default=115200, choices=BAUDS, help="initial line rate")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:TARGET]",
                        help=f"inject a fault: {', '.join(FAULT_KINDS)}; TARGET one of {', '.join(TARGETS)}")
    parser.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                        help="run the wire X times faster than real (tests)")
    parser.add_argument("--seed", type=int, default=None, help="seed for noise and fragmentation")
    parser.add_argument("--baud-reply", choices=("old", "new"), default="old",
                        help="rate of the answer to a set-baud command (undocumented on real readers)")


def _handler(sim: ReaderSimulator):
    def handle(name: str, rest: str) -> str | None:
        if name == "present":
            if not rest.strip().isdigit():
                return "usage: present N"
            sim.present(int(rest))
            return None
        if name == "remove":
            sim.remove()
            return None
        if name == "fault":
            if rest.strip() == "clear":
                sim.clear_faults()
            else:
                sim.set_fault(rest.strip())
            emit({"event": "fault", "spec": rest.strip()})
            return None
        return f"unknown command {name!r}; expected present N, remove, fault KIND[:TARGET]|clear, quit"
    return handle


def run(args: argparse.Namespace) -> int:
    try:
        cards = load_cards(args.identities)
        for spec in args.fault:
            parse_fault(spec)
        link = open_link(args.link)
    except (OSError, ValueError) as exc:
        print(f"kiosk-sim idcard: {exc}", file=sys.stderr)
        return 2
    sim = ReaderSimulator(cards, link, baud=args.baud, time_scale=args.time_scale, faults=args.fault,
                          seed=args.seed, reply_at_new_baud=args.baud_reply == "new", on_event=emit)
    try:
        if args.present is not None:
            sim.device.present(args.present)
    except IndexError as exc:
        link.close()
        print(f"kiosk-sim idcard: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    sim.start()
    print_ready("idcard", link.port)
    run_stdin_commands(_handler(sim), stop)
    try:
        stop.wait()
    finally:
        sim.stop()
        link.close()
    return 0
