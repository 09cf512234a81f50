"""``kiosk-sim ioboard``: the IO board with its REAL firmware (``firmware/io_board``) running in a child
process — the MicroPython unix port with ``--interpreter``, else the current Python — on simulated pins
and a simulated flash filesystem (a folder holding the firmware's files, as the board's flash does).

The child's UART is a private pty that this process bridges to the link the host opens (pty or TCP);
stdin commands become pin changes; the firmware's light, buzzer and relay changes come out as JSON lines.
When the firmware resets the board (after a firmware update) or the power is cut (``power cycle``, or
``power cut-at POINT N`` inside an update), the child is started again on the same flash, as the board
would boot again; the host keeps its port.
"""
from __future__ import annotations

import argparse
import os
import select
import shutil
import sys
import tempfile
import threading
import tty
from pathlib import Path

from simulators.ioboard.supervisor import FirmwareSupervisor
from simulators.link import (
    Link,
    LinkClosed,
    catch_sigterm,
    open_link,
    print_ready,
    run_stdin_commands,
    wait_until_stopped,
)

FWSIM_DIR = Path(__file__).resolve().parent / "fwsim"
DEFAULT_FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "io_board"
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
    "trial": "trial_ms",
}

# stdin command -> line for the simulated board.
PIN_COMMANDS = {
    ("tamper", "open"): "set tamper 1",
    ("tamper", "closed"): "set tamper 0",
    ("presence", "on"): "set presence 1",
    ("presence", "off"): "set presence 0",
    ("press", "help"): f"press help_button {HELP_PRESS_MS}",
}
CHECKPOINTS = ("write", "commit", "rollback")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", default="pty", help="pty (default) or tcp:HOST:PORT")
    parser.add_argument("--interpreter", default=None,
                        help="run the firmware under this interpreter, e.g. .venv/bin/micropython "
                             "(default: the current Python)")
    parser.add_argument("--firmware", type=Path, default=DEFAULT_FIRMWARE,
                        help="firmware directory, copied into an empty flash folder")
    parser.add_argument("--flash", type=Path, default=None,
                        help="the board's flash filesystem: a folder kept between runs (default: a "
                             "temporary copy of --firmware, removed at exit)")
    for option, setting in TIMINGS.items():
        parser.add_argument("--" + option.replace("_", "-"), type=float, default=None, metavar="S",
                            help=f"seconds (firmware setting {setting})")


def _settings(args: argparse.Namespace) -> list[str]:
    out = []
    for option, setting in TIMINGS.items():
        seconds = getattr(args, option)
        if seconds is not None:
            out.append(f"{setting}={round(seconds * 1000)}")
    return out


def prepare_flash(firmware: Path, flash: Path | None) -> tuple[Path, bool]:
    """The flash folder, filled with the firmware's files when new or empty; True when temporary."""
    temporary = flash is None
    folder = Path(tempfile.mkdtemp(prefix="ioboard-flash-")) if flash is None else flash
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        for source in sorted(firmware.glob("*.py")):
            shutil.copyfile(source, folder / source.name)
    return folder, temporary


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


def _board_command(name: str, rest: str) -> tuple[str | None, str | None]:
    """(line for the firmware's board, or "power cycle") for a stdin command; (None, error) if unknown."""
    line = PIN_COMMANDS.get((name, rest.strip()))
    if line is not None:
        return line, None
    words = rest.split()
    if name == "power" and words == ["cycle"]:
        return "power cycle", None
    if name == "power" and len(words) == 3 and words[0] == "cut-at" and words[1] in CHECKPOINTS \
            and words[2].isdigit() and int(words[2]) > 0:
        return f"killat {words[1]} {words[2]}", None
    return None, f"unknown command {name} {rest}".strip()


def run(args: argparse.Namespace) -> int:
    if not (args.firmware / "app.py").is_file():
        print(f"error: no firmware in {args.firmware}", file=sys.stderr)
        return 2
    flash, temporary = prepare_flash(args.firmware, args.flash)
    link = open_link(args.link)
    master, slave = os.openpty()
    tty.setraw(slave)  # the child sets raw mode too; doing it first means no byte is ever cooked
    stop = threading.Event()
    command = [args.interpreter or sys.executable, str(FWSIM_DIR / "simmain.py"), os.ttyname(slave), str(flash)]
    env = {**os.environ, "MICROPYPATH": f"{flash}:{FWSIM_DIR}", "PYTHONPATH": f"{flash}{os.pathsep}{FWSIM_DIR}",
           "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    board = FirmwareSupervisor(command, _settings(args), env, stop)
    caught = catch_sigterm()   # from here on SIGTERM ends like quit, through the finally below
    try:
        first = board.boot()
        if first is None:
            print("error: firmware did not start", file=sys.stderr)
            return 1
        Bridge(link, master, stop).start()
        print_ready("ioboard", link.port, firmware=first.get("firmware"),
                    implementation=first.get("implementation"), flash=str(flash))
        board.start_supervising()

        def handle(name: str, rest: str) -> str | None:
            line, error = _board_command(name, rest)
            if line == "power cycle":
                board.power_cycle()
            elif line is not None:
                board.send(line)
            return error

        run_stdin_commands(handle, stop)
        wait_until_stopped(stop, caught)
        return board.exit_status()
    finally:
        stop.set()
        board.shutdown()
        link.close()
        for fd in (master, slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if temporary:
            shutil.rmtree(flash, ignore_errors=True)
