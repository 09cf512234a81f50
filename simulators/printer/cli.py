"""``kiosk-sim printer``: an ESC/POS printer on a pty or TCP port that writes every job (ended by a cut
or 2 s of silence) as ``job-NNNN.png`` + ``job-NNNN.json`` and answers status queries from its state.

stdin: ``paper ok|near_end|out [MM]``, ``cover open|closed``, ``offline on|off``, ``quit``. stdout: the
ready line, then ``{"event": "job", ...}`` per job and ``{"event": "paper"|"cover"|"online", "state": ...}``.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from simulators.link import LinkClosed, emit, open_link, print_ready, run_stdin_commands
from simulators.printer.interpreter import Interpreter, Job, PaperState

SILENCE_ENDS_JOB = 2.0  # seconds without data end a job that was not cut


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", default="pty", help="pty (default) or tcp:HOST:PORT (port 0 = free port)")
    parser.add_argument("--paper", type=int, choices=(58, 80), default=80, help="paper width in mm")
    parser.add_argument("--out", required=True, help="directory for job-NNNN.png/.json")
    parser.add_argument("--paper-state", choices=[s.value for s in PaperState], default="ok")
    parser.add_argument("--paper-mm", type=float, default=None, help="paper left on the roll (mm)")
    parser.add_argument("--cover", choices=("open", "closed"), default="closed")
    parser.add_argument("--buffer", type=int, default=0,
                        help="receive buffer in bytes (0 = unlimited); bytes beyond it are lost")
    parser.add_argument("--print-speed", type=float, default=0.0,
                        help="mechanism speed in mm/s (0 = instant); GS r is answered once printed")
    parser.add_argument("--hanzi-default", action="store_true",
                        help="Hanzi mode on at power-on and after ESC @ (some clones)")


class PrinterSim:
    """Glue between the link, the interpreter and the output directory (one lock for all state)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.count = 0
        self.interp = Interpreter(dots=384 if args.paper == 58 else 576, paper=PaperState(args.paper_state),
                                  paper_mm=args.paper_mm, hanzi_default=args.hanzi_default,
                                  on_change=lambda what, value: emit({"event": what, "state": value}),
                                  buffer_bytes=args.buffer)
        self.rows_per_s = args.print_speed * 8  # 8 dots per mm
        self._credit = 0.0
        self._tick = time.monotonic()
        self.interp.cover_open = args.cover == "open"

    def write_job(self, job: Job) -> None:
        self.count += 1
        stem = self.out / f"job-{self.count:04d}"
        if job.roll is not None:
            job.roll.png(f"{stem}.png")
        Path(f"{stem}.json").write_text(json.dumps(job.to_dict(), ensure_ascii=False, indent=1), "utf-8")
        emit({"event": "job", "n": self.count, "png": f"{stem}.png", "json": f"{stem}.json",
              "bytes": job.bytes, "cuts": len(job.cuts), "warnings": len(job.warnings)})

    def collect(self, silence: bool = False) -> None:
        jobs = list(self.interp.completed)
        self.interp.completed.clear()
        if silence:
            last = self.interp.finish_job(silence=True)
            if last is not None:
                jobs.append(last)
        for job in jobs:
            self.write_job(job)

    def advance(self) -> None:
        """Lets the mechanism print for the time since the last call (all at once when instant)."""
        now = time.monotonic()
        if not self.rows_per_s:
            self.interp.run()
        else:
            # Credit accrues with time, but only a short burst's worth while idle.
            self._credit = min(self._credit + (now - self._tick) * self.rows_per_s, 0.05 * self.rows_per_s)
            before = self.interp.rows_printed
            self.interp.run(max_rows=self._credit)
            self._credit -= self.interp.rows_printed - before
        self._tick = now

    def handle(self, name: str, rest: str) -> str | None:
        """stdin: ``paper ok|near_end|out [MM]``, ``cover open|closed``, ``offline on|off``."""
        words = rest.split()
        value = words[0] if words else ""
        with self.lock:
            if name == "paper" and value in {s.value for s in PaperState}:
                self.interp.set_paper(PaperState(value), float(words[1]) if len(words) > 1 else None)
            elif name == "cover" and value in ("open", "closed"):
                self.interp.set_cover(value == "open")
            elif name == "offline" and value in ("on", "off"):
                self.interp.set_offline(value == "on")
            else:
                return f"unknown command: {name} {rest}".strip()
        return None


def run(args: argparse.Namespace) -> int:
    link = open_link(args.link)
    sim = PrinterSim(args)
    stop = threading.Event()
    print_ready("printer", link.port, paper=args.paper, out=str(sim.out))
    run_stdin_commands(sim.handle, stop)
    last_data = time.monotonic()
    try:
        while not stop.is_set():
            try:
                data = link.read(4096, 0.05)
            except LinkClosed:
                data = b""
                if stop.wait(0.05):
                    break
            with sim.lock:
                out = b""
                if data:
                    last_data = time.monotonic()
                    out = sim.interp.feed(data, process=False)
                sim.advance()
                sim.collect()
                if not data and sim.interp.idle and time.monotonic() - last_data >= SILENCE_ENDS_JOB:
                    sim.collect(silence=True)
                    last_data = time.monotonic()
                out += sim.interp.take_replies()  # replies in processing order
            if out:
                try:
                    link.write_raw(out)
                except LinkClosed:
                    pass
        with sim.lock:
            sim.collect(silence=True)
    finally:
        link.close()
    return 0
