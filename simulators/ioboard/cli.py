"""``kiosk-sim ioboard``: the IO board with its REAL firmware (``firmware/io_board``) running in a child
process — the MicroPython unix port with ``--interpreter``, else the current Python — on simulated pins.

The child's UART is a private pty that this process bridges to the link the host opens (pty or TCP);
stdin commands become pin changes; the firmware's light, buzzer and relay changes come out as JSON lines.
"""
from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import threading
import tty
from pathlib import Path

from simulators.link import Link, LinkClosed, emit, open_link, print_ready, run_stdin_commands

FWSIM_DIR = Path(__file__).resolve().parent / "fwsim"
DEFAULT_FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "io_board"
READY_TIMEOUT_S = 20.0
HELP_PRESS_MS = 150  # long enough for any sane debounce setting

# CLI option (seconds) -> firmware setting (milliseconds).
TIMINGS = {
    "heartbeat_timeout": "heartbeat_timeout_ms",
    "boot_grace": "boot_grace_ms",
    "min_cycle": "min_cycle_ms",
    "relay_pulse": "relay_pulse_ms",
    "debounce": "debounce_ms",
    "board_heartbeat": "board_heartbeat_ms",
    "event_retry": "event_retry_ms",
}

# stdin command -> line for the simulated board.
PIN_COMMANDS = {
    ("tamper", "open"): "set tamper 1",
    ("tamper", "closed"): "set tamper 0",
    ("presence", "on"): "set presence 1",
    ("presence", "off"): "set presence 0",
    ("press", "help"): f"press help_button {HELP_PRESS_MS}",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", default="pty", help="pty (default) or tcp:HOST:PORT")
    parser.add_argument("--interpreter", default=None,
                        help="run the firmware under this interpreter, e.g. .venv/bin/micropython "
                             "(default: the current Python)")
    parser.add_argument("--firmware", type=Path, default=DEFAULT_FIRMWARE, help="firmware directory")
    for option, setting in TIMINGS.items():
        parser.add_argument("--" + option.replace("_", "-"), type=float, default=None, metavar="S",
                            help=f"seconds (firmware setting {setting})")


def _child_command(args: argparse.Namespace, uart_path: str) -> list[str]:
    interpreter = args.interpreter or sys.executable
    command = [interpreter, str(FWSIM_DIR / "simmain.py"), uart_path]
    for option, setting in TIMINGS.items():
        seconds = getattr(args, option)
        if seconds is not None:
            command.append(f"{setting}={int(round(seconds * 1000))}")
    return command


class Bridge:
    """Copies bytes between the host's link and the firmware's private pty, in two daemon threads."""

    def __init__(self, link: Link, master_fd: int, stop: threading.Event) -> None:
        self.link, self.master, self.stop = link, master_fd, stop
        self.threads = [threading.Thread(target=self._to_firmware, daemon=True, name="host->fw"),
                        threading.Thread(target=self._to_host, daemon=True, name="fw->host")]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _to_firmware(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.link.read(256, 0.1)
            except LinkClosed:
                continue  # TCP host gone: wait for the next one; the firmware keeps running
            except OSError:
                return
            if data:
                try:
                    os.write(self.master, data)
                except OSError:
                    return

    def _to_host(self) -> None:
        while not self.stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(self.master, 256)
            except (OSError, ValueError):
                return
            try:
                self.link.write_raw(data)
            except LinkClosed:
                pass  # nobody listening: a real UART drops the bytes too
            except OSError:
                return


def _forward_output(child: subprocess.Popen, stop: threading.Event) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        line = line.strip()
        try:
            emit(json.loads(line))
        except ValueError:
            print(f"firmware: {line}", file=sys.stderr, flush=True)
    stop.set()  # the firmware ended


def run(args: argparse.Namespace) -> int:
    if not (args.firmware / "app.py").is_file():
        print(f"error: no firmware in {args.firmware}", file=sys.stderr)
        return 2
    link = open_link(args.link)
    master, slave = os.openpty()
    tty.setraw(slave)  # the child sets raw mode too; doing it first means no byte is ever cooked
    uart_path = os.ttyname(slave)
    env = {**os.environ, "MICROPYPATH": f"{args.firmware}:{FWSIM_DIR}",
           "PYTHONPATH": f"{args.firmware}{os.pathsep}{FWSIM_DIR}", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(_child_command(args, uart_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env, text=True, bufsize=1)
    stop = threading.Event()
    try:
        first = _first_line(child)
        if first is None:
            print("error: firmware did not start", file=sys.stderr)
            return 1
        bridge = Bridge(link, master, stop)
        bridge.start()
        print_ready("ioboard", link.port, firmware=first.get("firmware"),
                    implementation=first.get("implementation"))
        threading.Thread(target=_forward_output, args=(child, stop), daemon=True).start()
        lock = threading.Lock()

        def handle(name: str, rest: str) -> str | None:
            line = PIN_COMMANDS.get((name, rest.strip()))
            if line is None:
                return f"unknown command {name} {rest}".strip()
            with lock:
                assert child.stdin is not None
                child.stdin.write(line + "\n")
                child.stdin.flush()
            return None

        run_stdin_commands(handle, stop)
        # SIGTERM (the hall's parent-death signal, systemd, kill) ends like quit: the firmware child is
        # stopped in the finally below instead of being left behind.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
        return 0 if child.poll() in (None, 0) else 1
    finally:
        stop.set()
        _stop_child(child)
        link.close()
        for fd in (master, slave):
            try:
                os.close(fd)
            except OSError:
                pass


def _first_line(child: subprocess.Popen) -> dict | None:
    """The firmware's start line, or None if it exited or stayed silent for READY_TIMEOUT_S."""
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], READY_TIMEOUT_S)
    if not ready:
        return None
    line = child.stdout.readline()
    try:
        first = json.loads(line)
    except ValueError:
        return None
    return first if isinstance(first, dict) and "firmware" in first else None


def _stop_child(child: subprocess.Popen) -> None:
    if child.poll() is None:
        try:
            assert child.stdin is not None
            child.stdin.write("quit\n")
            child.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            child.wait(3)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(3)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(3)
