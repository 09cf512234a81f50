"""Playing the hall's devices by hand or by script: a closed set of actions (present a card, scan a code,
paper and cover, tamper, presence, help, broker outage) turned into simulator stdin commands, and a
snapshot of the hall for the control panel. Nothing else ever reaches a simulator's stdin."""
from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from simulators.hall.codes import format_query_code, mask_name, receipt_url
from simulators.hall.outputs import central_cases, printed_jobs
from simulators.hall.stack import Hall, restart_terminal

MAX_SCAN_CHARS = 200
CARD_TYPES = {"": "居民身份证", "J": "港澳台居民居住证", "I": "外国人永久居留身份证", "Y": "外国人永久居留身份证"}


class ActionError(ValueError):
    """The action is unknown, malformed, or its device is not running (message for the technician)."""


class Device(StrEnum):
    IDCARD = "idcard"
    SCANNER = "scanner"
    PRINTER = "printer"
    IOBOARD = "ioboard"
    BROKER = "broker"
    TERMINAL = "terminal"


# (device, action) → allowed values (None: no value; "int"/"text": checked separately).
ACTIONS: dict[tuple[str, str], Any] = {
    ("idcard", "present"): "int",
    ("idcard", "remove"): None,
    ("scanner", "scan"): "text",
    ("printer", "paper"): ("ok", "near_end", "out"),
    ("printer", "cover"): ("open", "closed"),
    ("ioboard", "tamper"): ("open", "closed"),
    ("ioboard", "presence"): ("on", "off"),
    ("ioboard", "press"): ("help",),
    ("broker", "stop"): None,
    ("broker", "start"): None,
    ("terminal", "restart"): None,
}


def clean_scan_text(text: str) -> str:
    """The scanned text as one stdin line: control characters (which could end the line and smuggle a
    second command) are dropped. Raises ActionError when nothing, or too much, is left."""
    cleaned = "".join(ch for ch in text if ch.isprintable()).strip()
    if not cleaned:
        raise ActionError("nothing to scan")
    if len(cleaned) > MAX_SCAN_CHARS:
        raise ActionError(f"scan text longer than {MAX_SCAN_CHARS} characters")
    return cleaned


@dataclass(frozen=True)
class Identity:
    """A sample card as the panel shows it: index for ``present N``, masked name, card kind."""

    index: int
    name: str
    kind: str


def sample_identities(path: Path) -> list[Identity]:
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = data.get("identities", data) if isinstance(data, dict) else data
    return [Identity(i, mask_name(str(e.get("name", ""))), CARD_TYPES.get(str(e.get("card_type", "")), "证件"))
            for i, e in enumerate(entries)]


class HallControl:
    """Thread-safe front of a running Hall (the panel's handlers and the scripted morning share it)."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self.identities = sample_identities(hall.identities)
        self._lock = threading.Lock()
        self.panel_url = ""

    def act(self, device: str, action: str, value: str | None = None) -> str:
        """Performs one action; returns what was done. Raises ActionError."""
        allowed = ACTIONS.get((device, action), KeyError)
        if allowed is KeyError:
            raise ActionError(f"unknown action {device} {action}")
        value = (value or "").strip() if allowed != "text" else (value or "")
        if allowed is None:
            command = action
        elif allowed == "int":
            if not (value.isascii() and value.isdigit()) or int(value) >= len(self.identities):
                raise ActionError(f"no sample identity {value!r} (0..{len(self.identities) - 1})")
            command = f"{action} {int(value)}"
        elif allowed == "text":
            command = f"{action} {clean_scan_text(value)}"
        elif value not in allowed:
            raise ActionError(f"{device} {action}: {value!r} is not one of {', '.join(allowed)}")
        else:
            command = f"{action} {value}"
        with self._lock:
            if device == Device.BROKER:
                return self._broker(action)
            if device == Device.TERMINAL:
                try:
                    restart_terminal(self.hall)
                except RuntimeError as exc:
                    raise ActionError(f"the terminal did not come back: {exc}") from exc
                return "terminal restarted"
            if not self.hall.send(device, command):
                raise ActionError(f"the {device} simulator is not running")
        if device == Device.IDCARD and action == "present":
            return f"idcard: card {int(value) + 1} presented"
        return f"{device}: {command}"

    def _broker(self, action: str) -> str:
        broker = self.hall.broker
        if broker is None:
            raise ActionError("no broker in this hall")
        if action == "stop":
            broker.stop()
        elif not broker.running:
            try:
                broker.start()
            except RuntimeError as exc:  # e.g. its port was taken meanwhile
                raise ActionError(str(exc)) from exc
        return f"broker {action}: {'running' if broker.running else 'stopped'}"

    def terminal_exit_code(self) -> int | None:
        """The terminal's exit status if it ended by itself; None while it runs (or is being restarted
        from the panel: the lock is held for the whole restart)."""
        with self._lock:
            term = self.hall.terminal
            if term is None or term.proc is None:
                return None
            return term.proc.poll()

    # Shortcuts for scripts ---------------------------------------------------------------------
    def present(self, index: int) -> str:
        return self.act("idcard", "present", str(index))

    def remove_card(self) -> str:
        return self.act("idcard", "remove")

    def scan(self, text: str) -> str:
        return self.act("scanner", "scan", text)

    def state(self) -> dict[str, Any]:
        """Snapshot for the panel: devices, broker, sample cards, cases at central, printed receipts."""
        hall = self.hall
        broker = hall.broker
        return {
            "terminal": hall.terminal_url,
            "devices": {name: proc.proc is not None and proc.proc.poll() is None
                        for name, proc in hall.devices.items()},
            "broker": {"url": broker.url if broker else "", "running": bool(broker and broker.running)},
            "identities": [vars(i) for i in self.identities],
            "cases": [_case_view(c.to_dict()) for c in central_cases(hall.central_db)],
            "receipts": [j.to_dict() for j in printed_jobs(hall.receipts_dir)],
            "problems": list(hall.problems),
            "terminal_status": terminal_status(hall.terminal_url),
        }


def terminal_status(url: str) -> dict[str, Any] | None:
    """What the terminal itself reports (its /api/status: devices, online, light), None when it does
    not answer — the panel shows the hall from the terminal's side too."""
    if not url:
        return None
    try:
        with urllib.request.urlopen(url + "api/status", timeout=1.0) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def _case_view(case: dict[str, Any]) -> dict[str, Any]:
    """Adds the printed form of the query code and the notice URL its QR carries."""
    try:
        return {**case, "code": format_query_code(case["query_code"]), "url": receipt_url(case["query_code"])}
    except ValueError:  # central holds a code this terminal would not print: show it as it is
        return {**case, "code": case["query_code"], "url": case["query_code"]}
