"""Unit tests of the hall's pieces that need no process: the scan text that may reach a simulator's
stdin, the action whitelist, the terminal configuration the hall writes, and the outputs readers."""
from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_sync.config import SyncConfig
from kiosk.config import load_config
from simulators.hall.children import HallBroker
from simulators.hall.control import MAX_SCAN_CHARS, ActionError, HallControl, clean_scan_text
from simulators.hall.outputs import central_cases, printed_jobs
from simulators.hall.stack import Hall, sample_file
from simulators.hall.terminal_config import write_terminal_config


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_scan_text_is_one_printable_line_or_refused(text: str):
    try:
        cleaned = clean_scan_text(text)
    except ActionError:
        return
    assert cleaned and len(cleaned) <= MAX_SCAN_CHARS
    assert len(cleaned.splitlines()) == 1 and all(ch.isprintable() for ch in cleaned)
    assert cleaned == cleaned.strip()


class RecordingHall(Hall):
    """A Hall whose simulators are replaced by a list of the stdin lines they would get."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(workdir=tmp, catalog=sample_file("catalog-sample.json"),
                         identities=sample_file("identities-sample.json"))
        self.sent: list[tuple[str, str]] = []

    def send(self, device: str, command: str) -> bool:
        self.sent.append((device, command))
        return device != "ioboard"  # as if the IO board simulator had not started


def test_actions_become_exactly_the_simulator_commands(tmp_path: Path):
    hall = RecordingHall(tmp_path)
    control = HallControl(hall)
    control.present(1)
    control.remove_card()
    control.scan("  7KQ2-M9XD-PA4T-H6WR-P\n")
    control.act("printer", "paper", "near_end")
    control.act("printer", "cover", "open")
    assert hall.sent == [("idcard", "present 1"), ("idcard", "remove"), ("scanner", "scan 7KQ2-M9XD-PA4T-H6WR-P"),
                         ("printer", "paper near_end"), ("printer", "cover open")]
    with pytest.raises(ActionError, match="not running"):
        control.act("ioboard", "press", "help")
    with pytest.raises(ActionError):
        control.act("printer", "offline", "on")
    with pytest.raises(ActionError):
        control.present(len(control.identities))
    assert all("*" in i.name for i in control.identities)  # sample names are masked on the panel


def test_written_configuration_is_valid_for_the_terminal_and_edge_sync(tmp_path: Path):
    hall = RecordingHall(tmp_path)
    hall.keys_dir.mkdir()
    for key_id in ("cmd-2026", "cat-2026"):
        (hall.keys_dir / f"{key_id}.pub").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    hall.broker = HallBroker()
    try:
        path = write_terminal_config(hall, 18080)
        config = load_config(path, env={})
        sync = SyncConfig.from_toml(path, env={})
    finally:
        hall.broker.cleanup()
    assert config.get("web", "port") == 18080 and config.get("devices", "camera") == "sim:page"
    assert config.get("catalog", "file") == str(hall.catalog)
    assert sync.mqtt_url == hall.broker.url and sync.data_dir == hall.terminal_dir
    assert set(sync.command_keys) == {"cmd-2026"} and set(sync.catalog_keys) == {"cat-2026"}


def test_outputs_read_jobs_and_cases(tmp_path: Path):
    (tmp_path / "job-0002.json").write_text(json.dumps({"qr": ["https://zwfw.example.gov.cn/q/X"],
                                                        "text": ["", "受理通知书"]}))
    (tmp_path / "job-0001.json").write_text(json.dumps({"qr": [], "text": []}))
    (tmp_path / "job-0003.json").write_text("{half written")
    jobs = printed_jobs(tmp_path)
    assert [j.n for j in jobs] == [1, 2]
    assert jobs[1].title == "受理通知书" and jobs[1].png.name == "job-0002.png" and jobs[0].title == "job 1"
    db = tmp_path / "central.db"
    assert central_cases(db) == []
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE cases (recv_order INTEGER PRIMARY KEY, case_id, case_no, query_code, item_code, "
                 "status, forced_status, device)")
    conn.execute("INSERT INTO cases VALUES (1, 'c1', 'N1', 'Q1', 'I1', 'accepted', 'ready_for_pickup', 'D')")
    conn.commit()
    conn.close()
    [case] = central_cases(db)
    assert (case.case_no, case.query_code, case.status) == ("N1", "Q1", "ready_for_pickup")
