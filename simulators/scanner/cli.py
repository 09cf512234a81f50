"""``kiosk-sim scanner``: a plain-output serial scanner on a pty or TCP port, driven from stdin.

Commands: ``scan TEXT`` (a read of TEXT), ``scanhex HEX`` (a read of raw bytes), ``garbage N`` (N random
bytes, no line end), ``pause MS`` (silence before the next command), ``quit``. After each read it prints
``{"event": "sent", "cmd": …, "bytes": N}`` once the last byte is on the wire.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

from simulators.link import Link, LinkClosed, Pacer, emit, open_link, print_ready, run_stdin_commands
from simulators.scanner.module import ENCODINGS, ScannerModule, Suffix

# A TCP host may connect a moment after a command arrives; a real scanner would just lose the read,
# but a harness that sends right after opening the port should not have to race the accept.
HOST_WAIT = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", default="pty", help="pty (default) or tcp:HOST:PORT (PORT 0 picks one)")
    parser.add_argument("--suffix", default="CR", choices=[s.value for s in Suffix],
                        help="line end after each read (GM65 default: CR)")
    parser.add_argument("--baud", type=int, default=9600, help="byte pacing, 10 bits per byte (0: unpaced)")
    parser.add_argument("--encoding", default="utf-8", choices=ENCODINGS, help="module output encoding")
    parser.add_argument("--fragment", type=int, default=0, help="split writes into random 1..N byte pieces")
    parser.add_argument("--seed", type=int, default=None, help="seed for fragmentation and garbage")
    parser.add_argument("--time-scale", type=float, default=1.0, help="run the clock this many times faster")


class _Session:
    """Executes stdin commands against the link; one command at a time (the stdin thread)."""

    def __init__(self, link: Link, pacer: Pacer, module: ScannerModule) -> None:
        self.link = link
        self.pacer = pacer
        self.module = module

    def handle(self, name: str, rest: str) -> str | None:
        if name == "scan":
            return self._send(name, self.module.read_text(rest))
        if name == "scanhex":
            return self._send(name, self.module.read_raw(rest))
        if name == "garbage":
            return self._send(name, self.module.garbage(int(rest)))
        if name == "pause":
            time.sleep(max(0.0, int(rest)) / 1000.0)
            return None
        return f"unknown command {name!r} (scan TEXT, scanhex HEX, garbage N, pause MS, quit)"

    def _send(self, name: str, data: bytes) -> str | None:
        deadline = time.monotonic() + HOST_WAIT
        # Only a TCP link knows whether a host is there; the main loop accepts it meanwhile.
        while getattr(self.link, "connected", True) is False and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            self.pacer.write(data)
        except LinkClosed as exc:  # the host left (or never came): this read is lost, as on a real wire
            return f"read lost: {exc}"
        emit({"event": "sent", "cmd": name, "bytes": len(data)})
        return None


def run(args: argparse.Namespace) -> int:
    try:
        module = ScannerModule(Suffix(args.suffix), args.encoding, args.seed)
        link = open_link(args.link)
    except (ValueError, OSError) as exc:
        print(f"kiosk-sim scanner: {exc}", file=sys.stderr, flush=True)
        return 2
    pacer = Pacer(link, args.baud, time_scale=args.time_scale, fragment=args.fragment, seed=args.seed)
    session = _Session(link, pacer, module)
    stop = threading.Event()
    print_ready("scanner", link.port, suffix=args.suffix, baud=args.baud, encoding=args.encoding)
    run_stdin_commands(session.handle, stop)
    try:
        while not stop.is_set():
            try:
                # Plain-output mode has no host commands: bytes from the host are read and ignored.
                # Reading also accepts TCP hosts and notices when one leaves.
                link.read(256, 0.1)
            except LinkClosed:
                time.sleep(0.05)
    finally:
        link.close()
    return 0
