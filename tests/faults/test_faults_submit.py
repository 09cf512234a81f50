"""Faults around the commit of a submission, against the real processes (``kiosk run`` with the ID-card
reader and printer simulators, mosquitto, the central simulator): concurrent commits of one draft over
HTTP, the printer killed and the broker killed after the commit, and a restart of the terminal. Each test
counts the cases committed on the terminal and delivered and duplicated at central, and keeps what the
screen said: 0 lost, 0 duplicated, never "submit again", recovery once the fault clears
(docs/faults.md, "Submission")."""
from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.central import store
from simulators.hall.children import HallSim
from simulators.hall.net import free_port
from simulators.hall.stack import Hall, restart_terminal, start_hall, start_terminal
from tests.edge_sync.conftest import wait_until
from tests.services.http import Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ITEM = {"item": "511900-XK-0001", "situation": "S02"}  # 企业设立登记: self-service, central shares M02
CITIZEN, AGENT = 0, 1  # sample identities: 张伟, and 欧阳晓雯 = agent AG-0031 (PIN 123456)
AGAIN = ("重新提交", "再次提交", "再提交", "请重新", "重新申请")


class Rig:
    """The hall, the page's API and the counts of one fault."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self.api = Api(hall.terminal_url, timeout=40)
        self.said: list[dict[str, Any]] = []

    # What the terminal committed, what central holds -------------------------------------------------
    def committed(self, code: str) -> int:
        db = self.hall.terminal_dir / "sync.db"
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM cases WHERE query_code = ?", (code,)).fetchone()[0])
        finally:
            conn.close()

    def at_central(self, code: str) -> int:
        return len(store.rows(self.hall.central_db, "SELECT 1 FROM cases WHERE query_code = ?", (code,)))

    def outbox(self) -> int:
        status = self.api.ok("GET", "/api/status")
        return int(status.get("outbox", {}).get("depth", 0) if isinstance(status.get("outbox"), dict) else 0)

    # The person at the screen -------------------------------------------------------------------------
    def card(self, index: int) -> None:
        self.hall.send("idcard", f"present {index}")
        wait_until(lambda: (self.api.ok("GET", "/api/session").get("card") or None), 15, "the card read")

    def draft(self) -> None:
        """A draft with the originals to show at the window (fast: no camera), phone, window pickup, consent."""
        view = self.api.ok("POST", "/api/submit/start", ITEM)
        for m in view["materials"]:
            if m["choice"] is None:
                self.api.ok("POST", "/api/submit/material", {"material": m["code"], "choice": "paper"})
        self.api.ok("POST", "/api/submit/details", {"phone": "13800000000"})
        self.api.ok("POST", "/api/submit/pickup", {"method": "window"})
        self.api.ok("POST", "/api/submit/details", {"consent": True})

    def commit(self) -> tuple[int, dict[str, Any]]:
        status, answer = self.api.call("POST", "/api/submit/commit", {})
        self.said.append(answer)
        return status, answer

    def never_said_submit_again(self) -> None:
        text = json.dumps(self.said, ensure_ascii=False)
        assert not any(words in text for words in AGAIN), text


@pytest.fixture(scope="module")
def hall(tmp_path_factory) -> Iterator[Hall]:
    hall = start_hall(tmp_path_factory.mktemp("submit-faults"), devices=("idcard", "printer"))
    try:
        start_terminal(hall, free_port(), camera="", ack_wait_s=3.0)
        yield hall
    finally:
        hall.stop()


@pytest.fixture
def rig(hall: Hall) -> Iterator[Rig]:
    rig = Rig(hall)
    yield rig
    hall.send("central", "resume")
    rig.api.call("POST", "/api/session/end", {})


def test_concurrent_commits_of_one_draft_over_http_give_one_case(rig):
    rig.card(CITIZEN)
    rig.draft()
    answers: list[tuple[int, dict[str, Any]]] = []
    threads = [threading.Thread(target=lambda: answers.append(rig.commit())) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 10 and all(a == answers[0] for a in answers) and answers[0][0] == 200
    code = answers[0][1]["notice"]["query_code"]
    wait_until(lambda: rig.at_central(code), 20, "the case at central")
    time.sleep(1.0)  # a doubled case would have arrived by now
    assert (rig.committed(code), rig.at_central(code)) == (1, 1)  # 0 lost, 0 duplicated
    rig.never_said_submit_again()


def _commit_while(rig: Rig, fault: Any) -> tuple[int, dict[str, Any], str]:
    """Commit with central paused (so the answer waits for its ack), and inject ``fault`` once the case is
    durable on the terminal but before the answer: the window the issue is about."""
    rig.hall.send("central", "pause")
    draft = rig.api.ok("GET", "/api/submit")
    before = {row[0] for row in _codes(rig)}
    box: list[tuple[int, dict[str, Any]]] = []
    thread = threading.Thread(target=lambda: box.append(rig.commit()))
    thread.start()
    code = wait_until(lambda: next(iter({row[0] for row in _codes(rig)} - before), None), 15, "the commit")
    assert draft["committed"] is False
    fault()
    thread.join(60)
    status, answer = box[0]
    return status, answer, code


def _codes(rig: Rig) -> list[tuple[str]]:
    conn = sqlite3.connect(f"file:{rig.hall.terminal_dir / 'sync.db'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT query_code FROM cases").fetchall()
    finally:
        conn.close()


def test_printer_killed_after_the_commit_says_submitted_and_reprints_once_back(rig):
    printer = rig.hall.devices["printer"]
    port = int(str(printer.port).rsplit(":", 1)[1])
    rig.card(CITIZEN)
    rig.draft()
    status, answer, code = _commit_while(rig, lambda: printer.proc.send_signal(signal.SIGKILL))
    assert status == 200 and answer["submitted"] is True and answer["printed"] is False and answer["reprint"]
    assert answer["notice"]["query_code"] == code and "已经提交成功" in answer["print_message"]
    rig.hall.send("central", "resume")
    wait_until(lambda: rig.at_central(code), 20, "the case at central")
    assert rig.commit()[1] == answer  # asked again: the same case, nothing new
    rig.hall.devices["printer"] = HallSim("printer", "--link", f"tcp:127.0.0.1:{port}", "--paper", "80", "--out",
                                          str(rig.hall.receipts_dir), log_dir=rig.hall.logs_dir).start()
    printed = wait_until(lambda: rig.api.call("POST", "/api/reprint", {"code": code})[1].get("printed"), 20,
                       "the reprint once the printer is back")
    assert printed is True and (rig.committed(code), rig.at_central(code)) == (1, 1)
    rig.never_said_submit_again()


def test_broker_killed_after_the_commit_the_case_arrives_once_when_it_returns(rig):
    broker = rig.hall.broker
    assert broker is not None and broker.proc is not None
    rig.card(CITIZEN)
    rig.draft()
    status, answer, code = _commit_while(rig, lambda: broker.proc.send_signal(signal.SIGKILL))
    assert status == 200 and answer["status"] == "pending" and answer["printed"] is True
    assert answer["notice"]["mark"] == "已提交，待平台确认" and "不用再做什么" in answer["message"]
    assert rig.at_central(code) == 0 and rig.committed(code) == 1
    broker.proc.wait(10)
    broker.start()  # the same port: the terminal and central reconnect by themselves
    rig.hall.send("central", "resume")
    wait_until(lambda: rig.at_central(code), 30, "the case at central after the broker returned")
    wait_until(lambda: rig.outbox() == 0, 30, "the terminal's outbox drained")
    time.sleep(1.0)
    assert (rig.committed(code), rig.at_central(code)) == (1, 1)
    rig.never_said_submit_again()


def test_reprint_records_and_agent_day_token_survive_a_restart(rig):
    rig.card(CITIZEN)
    rig.draft()
    status, answer = rig.commit()
    code = answer["notice"]["query_code"]
    rig.api.ok("POST", "/api/session/end", {})
    rig.card(AGENT)
    assert rig.api.ok("POST", "/api/agent/login", {"agent_id": "0031", "pin": "123456"})["agent"]["offline"] is False
    rig.api.ok("POST", "/api/session/end", {})
    broker = rig.hall.broker
    assert broker is not None
    broker.stop()
    try:
        restart_terminal(rig.hall)  # a new process: records come back from services.db (sealed)
        rig.api = Api(rig.hall.terminal_url, timeout=40)
        rig.card(CITIZEN)
        reprinted = rig.api.ok("POST", "/api/reprint", {"code": code})
        assert reprinted["printed"] is True and reprinted["notice"]["query_code"] == code
        rig.api.ok("POST", "/api/session/end", {})
        rig.card(AGENT)
        login = rig.api.ok("POST", "/api/agent/login", {"agent_id": "0031", "pin": "123456"})
        assert login["agent"]["offline"] is True  # central is away: the day token kept across the restart
        rig.api.ok("POST", "/api/session/end", {})
        rig.card(AGENT)
        status, refused = rig.api.call("POST", "/api/agent/login", {"agent_id": "0031", "pin": "000000"})
        assert status == 503 and refused["error"] == "offline"
    finally:
        broker.start()
    services_db: Path = rig.hall.terminal_dir / "services.db"
    raw = services_db.read_bytes()
    assert "张".encode() not in raw and b"AG-0031" not in raw  # sealed with the device key
