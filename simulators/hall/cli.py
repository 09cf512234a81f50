"""``kiosk-sim hall``: the whole hall on one machine — mosquitto, the central simulator, every device
simulator and the terminal — plus a control panel to play the devices; ``--headless`` runs the
scripted morning in headless Chromium instead of waiting for a person. Ctrl-C or SIGTERM stops all."""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from simulators.hall.control import HallControl
from simulators.hall.net import free_port
from simulators.hall.panel import Panel
from simulators.hall.stack import Hall, start_hall, start_terminal
from simulators.hall.terminal_config import MAINTENANCE_PIN

log = logging.getLogger("simulators.hall")
DEFAULT_PORT = 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None,
                        help=f"terminal web port (default {DEFAULT_PORT}; a free port with --headless; 0 = free)")
    parser.add_argument("--panel-port", type=int, default=0, help="control panel port (default: a free port)")
    parser.add_argument("--workdir", type=Path, help="folder for receipts, screenshots, logs and the terminal's "
                                                     "data (default: a new temporary folder)")
    parser.add_argument("--headless", action="store_true",
                        help="run the scripted morning in headless Chromium, print a summary and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir at the end")
    parser.add_argument("--devices-only", action="store_true",
                        help="simulators only, no terminal: show a card read and a scan through the real drivers")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


class StopSignal:
    """SIGINT/SIGTERM handler. While the hall starts (and during a headless morning) the signal interrupts
    at once with KeyboardInterrupt. Once the hall serves, it only sets ``requested``, which the serving
    loop looks at between its sleeps: an exception raised at an arbitrary point of that loop can land
    inside the terminal's ``Popen.poll()`` and leave the Popen's wait lock taken, after which stopping
    the terminal runs out both of its timeouts (SIGTERM, then SIGKILL) and the terminal is never reaped.
    A plain flag, not a threading.Event: a handler that takes a lock the interrupted code holds deadlocks."""

    def __init__(self) -> None:
        self.requested = False
        self.interrupts = True

    def __call__(self, signum: int, frame: object) -> None:
        self.requested = True
        if self.interrupts:
            raise KeyboardInterrupt

    def serving(self) -> None:
        """From now on a signal only sets ``requested``."""
        self.interrupts = False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port = args.port if args.port is not None else (0 if args.headless else DEFAULT_PORT)
    port = port or free_port()
    if not args.devices_only and not _port_free(port):
        print(f"kiosk-sim hall: port {port} is in use; choose another with --port", file=sys.stderr)
        return 2
    temporary = args.workdir is None
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="kiosk-hall-"))).resolve()
    # Both signals stop the hall however it was started: a process started in the background by a shell
    # without job control inherits SIGINT ignored, and Python then installs no handler of its own.
    stop = StopSignal()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    hall: Hall | None = None
    status = 1
    try:
        say(f"Starting the simulated hall in {workdir} …")
        hall = start_hall(workdir)
        for problem in hall.problems:
            say(f"  ! {problem}")
        control = HallControl(hall)
        if args.devices_only:
            status = _devices_only(control, args, stop)
        else:
            status = _full_hall(control, port, args, stop)
    except KeyboardInterrupt:
        # Ctrl-C is how an interactive hall ends; it interrupts a headless morning.
        status = 130 if args.headless else 0
    except (RuntimeError, OSError, TimeoutError) as exc:
        print(f"kiosk-sim hall: {exc}", file=sys.stderr)
        if hall is not None:
            print(f"kiosk-sim hall: logs are in {hall.logs_dir}; `kiosk-sim hall --devices-only` runs the "
                  "simulators and drivers without the terminal", file=sys.stderr)
        status = 1
    finally:
        # A second Ctrl-C must not leave half the hall running: stopping is bounded by timeouts.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("Stopping the hall …")
        if hall is not None:
            hall.stop()
        keep = args.keep or args.headless or not temporary
        if keep:
            say(f"Outputs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return status


def _start_panel(control: HallControl, args: argparse.Namespace) -> Panel:
    panel = Panel(control, args.panel_port)
    panel.start()
    return panel


def _wait_forever(control: HallControl, stop: StopSignal) -> int:
    """Until Ctrl-C/SIGTERM (0); 1 if the terminal ends by itself."""
    stop.serving()
    while not stop.requested:
        time.sleep(0.5)
        code = control.terminal_exit_code()
        if code is not None and not stop.requested:
            print(f"kiosk-sim hall: the terminal stopped (exit {code}); see "
                  f"{control.hall.logs_dir / 'terminal.log'}", file=sys.stderr)
            return 1
    return 0


def _full_hall(control: HallControl, port: int, args: argparse.Namespace, stop: StopSignal) -> int:
    hall = control.hall
    start_terminal(hall, port)
    panel = _start_panel(control, args)
    try:
        say("")
        say(f"  终端界面 Terminal:            {hall.terminal_url}")
        say(f"  大厅控制台 Hall control panel: {panel.url}")
        say(f"  维护密码 Maintenance PIN:      {MAINTENANCE_PIN}")
        say(f"  小票 Receipts:                 {hall.receipts_dir}")
        say(f"  日志 Logs:                     {hall.logs_dir}")
        if args.headless:
            return _headless(control)
        say("")
        say("Open the terminal in a browser; press Ctrl-C to stop everything.")
        return _wait_forever(control, stop)
    finally:
        panel.stop()


def _headless(control: HallControl) -> int:
    """The scripted morning; its summary goes to WORKDIR/summary.json. 0 only if every scene passed."""
    from simulators.hall.morning import run_morning

    try:
        summary = run_morning(control, say)
    except Exception as exc:  # no browser, Playwright missing: say so, and the hall still stops cleanly
        print(f"kiosk-sim hall: the scripted morning could not run: {exc}", file=sys.stderr)
        return 1
    path = control.hall.workdir / "summary.json"
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=1), "utf-8")
    return 0 if summary.get("ok") else 1


def _devices_only(control: HallControl, args: argparse.Namespace, stop: StopSignal) -> int:
    from simulators.hall.devices_only import DeviceWatch, demo_card_read, demo_scan

    say("Devices only (no terminal): reading through the real drivers.")
    card = demo_card_read(control, say)
    scan = demo_scan(control, say)
    ok = card is not None and scan is not None and bool(scan.get("code"))
    if args.headless:
        return 0 if ok else 1
    panel = _start_panel(control, args)
    watch = DeviceWatch(control, say).start()
    try:
        say(f"  大厅控制台 Hall control panel: {panel.url}")
        say("Play the devices from the panel; events appear here. Ctrl-C stops everything.")
        return _wait_forever(control, stop)
    finally:
        watch.stop()
        panel.stop()
