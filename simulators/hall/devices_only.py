"""``kiosk-sim hall --devices-only``: the simulators without the terminal, shown working through the real
drivers — a card read and a notice code scanned by the product's own technician commands
(``kiosk-device idcard read|watch``, ``kiosk-device scanner listen``), run as child processes so that this
simulator tooling never imports the drivers it checks — then watched live while a technician plays the
devices from the control panel. Everything printed is masked by those commands."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from simulators.hall.codes import mask_name, mint_query_code, receipt_url
from simulators.hall.control import HallControl
from simulators.hall.procs import terminate

Say = Callable[[str], None]
DEVICE_CLI = "import sys; from kiosk.cli.device import main; sys.exit(main())"
# The card-type flag of the card's text (hardware/idcard.md) → the contract's id_type.
ID_TYPES = {"": "resident", "J": "hmt_permit", "I": "foreigner", "Y": "foreigner"}


def device_command(*args: str) -> list[str]:
    """``kiosk-device ARGS…`` with the interpreter of this environment."""
    return [sys.executable, "-c", DEVICE_CLI, *args]


def describe_card(card: dict[str, Any]) -> str:
    """A masked one-line view of a card as ``kiosk-device`` prints it (number already masked)."""
    id_type = ID_TYPES.get(str(card.get("card_type", "")).strip(), "?")
    return f"{mask_name(str(card.get('name', '')))} {card.get('id_number', '?')} ({id_type})"


def describe_scan(scan: dict[str, Any]) -> str:
    if scan.get("code"):
        return f"receipt code {scan['code']}"
    return f"not a receipt code ({scan.get('kind') or 'other'})"


def _first_line(proc: subprocess.Popen[str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """The JSON line a one-shot ``kiosk-device`` command prints, and its stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        terminate(proc)
        return None, "no answer in time"
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return (json.loads(lines[0]) if lines and proc.returncode == 0 else None), err.strip()


def demo_card_read(control: HallControl, say: Say, index: int = 0, timeout: float = 10.0) -> dict[str, Any] | None:
    """Presents sample card ``index`` and reads it with ``kiosk-device idcard read``; then removes it."""
    port = control.hall.port("idcard")
    if port is None:
        say("ID-card reader: no simulator running")
        return None
    control.present(index)
    try:
        proc = subprocess.Popen(device_command("idcard", "read", "--port", port, "--timeout", str(timeout)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        card, err = _first_line(proc, timeout + 10)
    finally:
        control.remove_card()
    if card is None:
        say(f"ID-card reader {port}: read failed: {err}")
        return None
    say(f"ID-card reader {port}: read card {index + 1}: {describe_card(card)}")
    return card


def demo_scan(control: HallControl, say: Say, timeout: float = 10.0) -> dict[str, Any] | None:
    """Scans a fresh notice URL through the scanner simulator and reads it with ``kiosk-device scanner``."""
    port = control.hall.port("scanner")
    if port is None:
        say("scanner: no simulator running")
        return None
    code = mint_query_code()
    proc = subprocess.Popen(device_command("scanner", "listen", "--port", port, "--count", "1",
                                           "--timeout", str(timeout)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The listener opens the port before it reads; a scan sent earlier would be lost with nobody reading.
    if _listening(proc):
        control.scan(receipt_url(code))
    scan, err = _first_line(proc, timeout + 10)
    if scan is None:
        say(f"scanner {port}: {err or f'nothing read within {timeout} s'}")
        return None
    verdict = "matches" if scan.get("code") == code else "DOES NOT match"
    say(f"scanner {port}: {describe_scan(scan)} — {verdict} the code sent")
    return scan


def _listening(proc: subprocess.Popen[str], settle_s: float = 1.5) -> bool:
    """Gives a just-started listener time to open its port (it prints nothing until a scan arrives)."""
    try:
        proc.wait(settle_s)
    except subprocess.TimeoutExpired:
        return True
    return False


class DeviceWatch:
    """While the hall runs without a terminal: the product's watch commands report what the technician
    plays on the panel (card present/removed, scans), masked, through ``say``."""

    def __init__(self, control: HallControl, say: Say) -> None:
        self.control, self.say = control, say
        self._lock = threading.Lock()
        self.children: list[subprocess.Popen[str]] = []

    def _follow(self, tag: str, stream: IO[str], describe: Callable[[dict[str, Any]], str]) -> None:
        for line in stream:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.say(f"[{tag}] {describe(data)}")

    def _start(self, tag: str, args: list[str], describe: Callable[[dict[str, Any]], str]) -> None:
        proc = subprocess.Popen(device_command(*args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        self.children.append(proc)
        assert proc.stdout is not None
        threading.Thread(target=self._follow, args=(tag, proc.stdout, describe), daemon=True).start()

    def start(self) -> DeviceWatch:
        hall = self.control.hall
        card_port, scan_port = hall.port("idcard"), hall.port("scanner")
        if card_port:
            self._start("idcard", ["idcard", "watch", "--port", card_port],
                        lambda e: e["event"] + (f": {describe_card(e['card'])}" if "card" in e else ""))
        if scan_port:
            self._start("scanner", ["scanner", "listen", "--port", scan_port, "--count", "0", "--timeout", "0"],
                        describe_scan)
        return self

    def stop(self) -> None:
        for proc in self.children:
            terminate(proc)
