"""The control panel plays the devices of a running hall, and the terminal sees it through its real
drivers: a card on the reader shows in its session, a scan reaches its event stream, paper out and a
broker outage reach its status; the IO board's presence, tamper and help reach it and central."""
from __future__ import annotations

import sqlite3
import urllib.request
from contextlib import closing

import pytest

from edge_sync.querycode import mint_query_code, receipt_url
from simulators.hall.control import HallControl
from simulators.hall.terminal_config import MAINTENANCE_PIN
from tests.hall.conftest import EventStream, get_json, post_json, require_chromium, wait_until

pytestmark = pytest.mark.integration


def act(control: HallControl, device: str, action: str, value: str = "") -> tuple[int, dict]:
    return post_json(control.panel_url + "api/act", {"device": device, "action": action, "value": value})


def test_page_is_served_with_chinese_and_english_labels(running_hall):
    with urllib.request.urlopen(running_hall.panel_url, timeout=5) as response:
        page = response.read().decode("utf-8")
    assert "模拟大厅控制台" in page and "Hall control panel" in page
    assert "http" not in page.split("<script>")[0].replace("http-equiv", "")  # no outside resources


def test_presented_card_shows_in_the_terminal_session_and_removal_ends_it(running_hall):
    terminal = running_hall.hall.terminal_url
    identities = running_hall.state()["identities"]
    status, body = act(running_hall, "idcard", "present", "2")
    assert status == 200, body
    session = wait_until(lambda: (get_json(terminal + "api/session").get("card") or None), 15, "card in session")
    assert session["name"] == identities[2]["name"]  # masked by both sides the same way
    assert "*" in session["id_masked"]
    assert act(running_hall, "idcard", "remove")[0] == 200
    wait_until(lambda: get_json(terminal + "api/session").get("card") is None, 15, "card removed")


def test_scanned_code_reaches_the_terminal_event_stream(running_hall):
    stream = EventStream(running_hall.hall.terminal_url)
    try:
        stream.wait(lambda e: e.get("type") == "hello")
        code = mint_query_code()
        assert act(running_hall, "scanner", "scan", receipt_url(code))[0] == 200
        event = stream.wait(lambda e: e.get("type") == "scan")
        assert event["kind"] == "receipt_code" and event["code"] == code
        assert act(running_hall, "scanner", "scan", "https://example.com/not-a-notice")[0] == 200
        event = stream.wait(lambda e: e.get("type") == "scan")
        assert event["kind"] == "other" and event["message"]
    finally:
        stream.close()


def test_paper_out_reaches_the_terminal_status(running_hall):
    terminal = running_hall.hall.terminal_url
    assert act(running_hall, "printer", "paper", "out")[0] == 200
    try:
        wait_until(lambda: get_json(terminal + "api/status")["printer"]["paper"] == "out", 20, "paper out")
    finally:
        act(running_hall, "printer", "paper", "ok")
    wait_until(lambda: get_json(terminal + "api/status")["printer"]["paper"] == "ok", 20, "paper ok")


def test_broker_outage_and_return_reach_the_terminal(running_hall):
    terminal = running_hall.hall.terminal_url
    assert act(running_hall, "broker", "stop")[0] == 200
    try:
        assert running_hall.state()["broker"]["running"] is False
        wait_until(lambda: get_json(terminal + "api/status")["online"] is False, 20, "terminal offline")
    finally:
        assert act(running_hall, "broker", "start")[0] == 200
    assert running_hall.state()["broker"]["running"] is True
    wait_until(lambda: get_json(terminal + "api/status")["online"] is True, 30, "terminal back online")


@pytest.mark.parametrize("device, action, value", [
    ("idcard", "fault", "timeout"),        # not a panel action
    ("idcard", "present", "99"),           # no such sample card
    ("idcard", "present", "1; quit"),
    ("idcard", "present", "²"),              # a digit to str.isdigit, not to int()
    ("printer", "paper", "low"),
    ("central", "stats", ""),
    ("scanner", "scan", "\n\r\t"),         # nothing printable left
])
def test_unknown_or_malformed_actions_are_refused(running_hall, device, action, value):
    status, body = act(running_hall, device, action, value)
    assert status == 400 and body["error"]


def test_foreign_host_name_is_refused(running_hall):
    request = urllib.request.Request(running_hall.panel_url + "api/state", headers={"Host": "evil.example:80"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 403


def test_receipt_files_are_served_by_name_only(running_hall):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(running_hall.panel_url + "receipts/..%2Fterminal.toml", timeout=5)
    assert caught.value.code == 404


@pytest.mark.browser
def test_panel_page_buttons_drive_the_devices(running_hall):
    from simulators.hall.screen import open_browser

    require_chromium()
    terminal = running_hall.hall.terminal_url
    masked = running_hall.state()["identities"][3]["name"]
    stream = EventStream(terminal)
    try:
        with open_browser() as page:
            page.goto(running_hall.panel_url)
            page.get_by_role("button", name="放卡 4").click()
            page.locator("#msg").get_by_text("card 4 presented").wait_for()
            wait_until(lambda: (get_json(terminal + "api/session").get("card") or {}).get("name") == masked, 15,
                       "card 4 in the terminal's session")
            page.get_by_role("button", name="取走卡片").click()
            wait_until(lambda: get_json(terminal + "api/session").get("card") is None, 15, "card removed")
            code = mint_query_code()
            page.fill("#scantext", receipt_url(code))
            page.get_by_role("button", name="扫描").click()
            assert stream.wait(lambda e: e.get("type") == "scan")["code"] == code
            page.locator("#tstatus").get_by_text("在线 online").wait_for()  # the terminal's own view
    finally:
        stream.close()


def test_printed_receipts_are_listed_and_served(running_hall):
    terminal = running_hall.hall.terminal_url
    status, body = post_json(terminal + "api/checklist/print", {"item": "511900-GG-0002", "situation": "S01"})
    assert status == 200, body
    receipt = wait_until(lambda: next((r for r in running_hall.state()["receipts"]
                                       if r["title"] == "一次性告知单"), None), 30, "the checklist in the panel")
    assert receipt["qr"] == ["https://zwfw.example.gov.cn/item/511900-GG-0002"]
    with urllib.request.urlopen(running_hall.panel_url + "receipts/" + receipt["png"], timeout=5) as response:
        assert response.headers["Content-Type"] == "image/png" and response.read(8) == b"\x89PNG\r\n\x1a\n"


def test_io_board_events_reach_the_terminal_and_central(running_hall):
    terminal = running_hall.hall.terminal_url

    def io(kind: str) -> str | None:
        return get_json(terminal + "api/status").get("io", {}).get(kind)

    assert act(running_hall, "ioboard", "presence", "on")[0] == 200
    wait_until(lambda: io("presence") == "on", 20, "presence on at the terminal")
    assert act(running_hall, "ioboard", "tamper", "open")[0] == 200
    try:
        wait_until(lambda: io("tamper") == "open" and get_json(terminal + "api/status")["locked"], 20,
                   "terminal locked by the open enclosure")
    finally:
        act(running_hall, "ioboard", "tamper", "closed")
        wait_until(lambda: io("tamper") == "closed", 20, "tamper closed")
        # Closing the enclosure does not unlock: a technician does, on the maintenance page.
        assert post_json(terminal + "api/maint/login", {"pin": MAINTENANCE_PIN})[0] == 200
        assert post_json(terminal + "api/maint/unlock", {})[0] == 200
    wait_until(lambda: not get_json(terminal + "api/status")["locked"], 20, "terminal unlocked")
    assert act(running_hall, "ioboard", "press", "help")[0] == 200

    def help_events() -> int:
        with closing(sqlite3.connect(f"file:{running_hall.hall.central_db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT COUNT(*) FROM events WHERE type = 'help.requested'").fetchone()[0]
    wait_until(lambda: help_events() >= 1, 30, "the help call at central")


def test_terminal_restart_from_the_panel_serves_again_on_the_same_url(running_hall):
    terminal = running_hall.hall.terminal_url
    before = get_json(terminal + "api/status")["boot"]
    old_pid = running_hall.hall.terminal.proc.pid
    status, body = act(running_hall, "terminal", "restart")
    assert status == 200, body
    assert running_hall.hall.terminal_url == terminal and running_hall.hall.terminal.proc.pid != old_pid
    assert get_json(terminal + "api/status")["boot"] != before  # a new service: pages reset themselves
    assert running_hall.terminal_exit_code() is None
