"""Proof of privacy over the scripted hall morning: the whole hall runs with the terminal logging at DEBUG,
then every terminal-side byte it left — logs of the terminal and of every simulator, the terminal's raw
SQLite files, the printed receipts' text, the text shown on every screen the morning photographed, the
hall's own output and log records — is searched for the
sample identities' ID numbers, names and addresses and the phone number typed in, in UTF-8, GB18030 and
UCS-2 (the ID card's own encoding). Central's database is the platform's and is left out.
(Nothing of a person left in the page after a reset is proven by tests/browser/test_session_ui.py.)"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from simulators.hall.children import Terminal
from simulators.hall.control import HallControl
from simulators.hall.morning import PHONE, run_morning
from simulators.hall.stack import start_hall
from simulators.hall.terminal_config import write_terminal_config
from tests.support.net import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]
ENCODINGS = ("utf-8", "gb18030", "utf-16-le")
# The platform's side of the hall: central holds applicants by design (the case envelope carries them, contract
# §4), and so does the platform's broker while a case is in flight to central (its persistence file, written
# when the hall stops with a message not yet delivered).
PLATFORM_FILES = ("central.db", "central.db-wal", "central.db-shm", "mosquitto.db")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _secrets(identities_file: Path) -> dict[str, str]:
    people = json.loads(identities_file.read_text("utf-8"))["identities"]
    found = {PHONE: "phone"}
    for person in people:
        for field in ("id_number", "name", "address"):
            if person.get(field):
                found[person[field]] = field
    return found


@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    workdir = tmp_path_factory.mktemp("privacy-morning")
    said: list[str] = []
    collect = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    hall = start_hall(workdir)
    try:
        hall.config_path = write_terminal_config(hall, free_port())
        terminal = Terminal(hall.config_path, hall.logs_dir)
        terminal.args += ["--log-level", "DEBUG"]
        hall.terminal = terminal
        terminal.start()
        summary = run_morning(HallControl(hall), said.append)
    finally:
        hall.stop()
        root.removeHandler(collect)
        root.setLevel(old_level)
    return {"workdir": workdir, "summary": summary, "said": said, "records": collect.lines}


def test_the_morning_read_cards_and_submitted(morning: dict) -> None:
    """Without this the search below would prove nothing."""
    scenes = {s["name"][:2]: s for s in morning["summary"]["scenes"]}
    assert scenes["b."]["ok"], scenes["b."]
    assert morning["summary"]["cases"], "central received no case"
    terminal_log = (morning["workdir"] / "logs" / "terminal.log").read_text("utf-8")
    assert " DEBUG " in terminal_log, "the terminal did not log at DEBUG"


def test_no_identity_in_any_log_database_or_receipt(morning: dict, identities_file: Path) -> None:
    secrets = _secrets(identities_file)
    workdir: Path = morning["workdir"]
    blobs = {str(p.relative_to(workdir)): p.read_bytes() for p in sorted(workdir.rglob("*"))
             if p.is_file() and p.name not in PLATFORM_FILES and p.suffix != ".png"}
    blobs["hall output"] = "\n".join(morning["said"]).encode("utf-8")
    blobs["log records"] = "\n".join(morning["records"]).encode("utf-8")
    assert any(name.startswith("terminal/") for name in blobs), sorted(blobs)   # the terminal's store is searched
    assert sum(name.endswith(".txt") for name in blobs) >= 10, sorted(blobs)   # and what the screens showed
    leaks = sorted({(name, kind, enc) for name, data in blobs.items() for secret, kind in secrets.items()
                    for enc in ENCODINGS if secret.encode(enc) in data})
    assert not leaks, f"identity data found (file, what, encoding): {leaks}"
