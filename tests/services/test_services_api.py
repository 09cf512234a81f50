"""The services' JSON API over HTTP on the real aiohttp server of a Kiosk whose sync engine talks to the real
central simulator: a 一件事一次办 submission with a mailed pickup, concurrent commits of one draft (one set of
cases, the same answer to every request), the resident's consent in agent mode, evaluation, 催办, withdraw
and 补正 — and every answer in the villager's words, never "submit again" after a commit."""
from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from edge_sync import SyncEngine
from kiosk.adapters import ReceiptsAdapter, SyncAdapter
from kiosk.app import Kiosk, Ports
from kiosk.config import load_config
from kiosk.ports import CardEvent
from kiosk.services.records import open_records
from tests.app.doubles import FakeCamera, FakePrinter, FakeReader
from tests.app.harness import KioskThread
from tests.services.http import Api
from tests.services.terminal import MAIL, OUYANG, XIANG, ZHANG, Terminal, central_case, central_rows
from tests.support.net import free_port

pytestmark = pytest.mark.integration
AGAIN = ("重新提交", "再提交", "再次提交", "重新申请")


class Served(KioskThread):
    """The served kiosk, the doubles behind its printer and ID-reader ports and the real engine (set by the fixture)."""

    printer: FakePrinter
    reader: FakeReader
    engine: SyncEngine


@pytest.fixture
def served(net, tmp_path):
    """A served Kiosk over a real engine (the Terminal helper's), with the test's printer and reader."""
    base = Terminal(tmp_path / "kiosk", net.broker.url, net.catalog, net.keys)
    base.records.close()
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path / "kiosk"),
                                    "KIOSK_DEVICE_ID": "KSK-511902-0007", "KIOSK_DEVICE_SITE_ID": "511902-HALL-01",
                                    "KIOSK_SESSION_ACK_WAIT_S": "8", "KIOSK_SESSION_REQUEST_TIMEOUT_S": "5"})
    printer, reader = FakePrinter(), FakeReader()
    ports = Ports(sync=SyncAdapter(base.engine), idreader=reader, printer=printer, receipts=ReceiptsAdapter(),
                  camera=FakeCamera())
    records = open_records(tmp_path / "kiosk", base.engine.key)
    runner = Served(lambda: Kiosk(config, net.catalog, ports, records=records, tick_s=0.05), free_port()).start()
    runner.printer, runner.reader, runner.engine = printer, reader, base.engine
    try:
        yield runner
    finally:
        runner.stop()
        records.close()
        base.engine.stop()


def call(server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return Api(server.url).call(method, path, body)


def ok(server, method: str, path: str, body: Any = None) -> Any:
    return Api(server.url).ok(method, path, body)


def card(server, person) -> None:
    server.call(lambda: server.kiosk.on_card_event(CardEvent("card_present", person)))


def test_bundle_by_mail_and_concurrent_commits_over_http(net, served):
    card(served, ZHANG)
    draft = ok(served, "POST", "/api/submit/start", {"bundle": "B02"})  # 新生儿出生一件事
    assert [i["code"] for i in draft["items"]] == ["511900-GG-0003", "511900-GG-0002"]
    for m in draft["materials"]:
        if m["choice"] is None and m["required"]:
            ok(served, "POST", "/api/submit/capture", {"material": m["code"]})
    ok(served, "POST", "/api/submit/details", {"phone": "13800000000"})
    status, refused = call(served, "POST", "/api/submit/pickup", {"method": "mail", "address": MAIL})
    assert status == 400 and refused["error"] == "bad_pickup"  # 生育登记 is not mailed: not in the bundle's list
    view = ok(served, "POST", "/api/submit/pickup", {"method": "village_point", "point": "511902-V-0001"})
    assert view["pickup_place"].startswith("江北街道示例村便民服务点")
    ok(served, "POST", "/api/submit/details", {"consent": True})
    answers: list[tuple[int, Any]] = []
    threads = [threading.Thread(target=lambda: answers.append(call(served, "POST", "/api/submit/commit", {})))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 8 and all(a == answers[0] for a in answers) and answers[0][0] == 200
    result = answers[0][1]
    codes = [c["query_code"] for c in result["notice"]["cases"]]
    assert len(codes) == 2 and result["submitted"] is True
    assert not any(word in json.dumps(result, ensure_ascii=False) for word in AGAIN)
    for code in codes:
        central_case(net, code)
        assert len(central_rows(net.db, "SELECT 1 FROM cases WHERE query_code = ?", (code,))) == 1
    assert served.engine.store.scalar("SELECT COUNT(*) FROM cases") == 2 and len(served.printer.printed) == 1
    offers = ok(served, "GET", "/api/evaluate/offers")["offers"]
    assert {o["ref"] for o in offers} == set(codes)
    status, refused = call(served, "POST", "/api/evaluate", {"kind": "case", "ref": codes[0], "level": 2})
    assert status == 400 and refused["error"] == "reason_needed"
    done = ok(served, "POST", "/api/evaluate", {"kind": "case", "ref": codes[0], "level": 3})
    assert done["level_name"] == "基本满意"
    status, again = call(served, "POST", "/api/evaluate", {"kind": "case", "ref": codes[0], "level": 5})
    assert status == 409 and again["error"] in ("already_evaluated", "not_offered")


def test_agent_mode_consent_urge_withdraw_and_correction_over_http(net, served):
    card(served, OUYANG)
    ok(served, "POST", "/api/agent/login", {"agent_id": "0031", "pin": "123456"})
    card(served, XIANG)  # the resident
    draft = ok(served, "POST", "/api/submit/start", {"item": "511900-XK-0001", "situation": "S02"})
    for m in draft["materials"]:
        if m["choice"] is None and (m["required"] or m["authorization"]):
            ok(served, "POST", "/api/submit/capture", {"material": m["code"]})
    ok(served, "POST", "/api/submit/details", {"phone": "13900000000"})
    ok(served, "POST", "/api/submit/pickup", {"method": "window"})
    status, refused = call(served, "POST", "/api/submit/details", {"consent": True})
    assert status == 403 and refused["error"] == "consent_by_resident"
    status, refused = call(served, "POST", "/api/submit/commit", {})
    assert status == 409 and "群众本人" in refused["message"]  # nothing stored without the resident's consent
    assert ok(served, "POST", "/api/submit/consent/ask")["consent_state"] == "awaiting_card"
    served.call(lambda: served.kiosk.on_card_event(CardEvent("card_removed")))
    card(served, XIANG)
    assert ok(served, "POST", "/api/submit/details", {"consent": True})["consent_state"] == "given"
    result = ok(served, "POST", "/api/submit/commit", {})
    code = result["notice"]["query_code"]
    assert result["notice"]["agent_masked"] == "欧**雯"
    urged = ok(served, "POST", "/api/complaints", {"code": code, "kind": "urge", "category": "progress"})
    assert urged["receipt_no"].startswith("CB")
    village = ok(served, "GET", "/api/agent/cases")
    assert code in [c["query_code"] for c in village["cases"]]
    refused = ok(served, "POST", "/api/cases/withdraw", {"code": code})  # accepted at once: too late
    assert refused["result"] == "not_allowed"
    net.command(f"correction {code} M03 请补充租赁合同")
    status, opened = call(served, "POST", "/api/corrections/start", {"code": code})
    for _ in range(50):  # the notify and central's view may take a moment
        if status == 200:
            break
        status, opened = call(served, "POST", "/api/corrections/start", {"code": code})
    assert status == 200 and opened["materials"][0]["code"] == "M03"
    ok(served, "POST", "/api/corrections/capture", {"material": "M03"})
    status, page = call(served, "GET", "/api/corrections/page/M03/9")
    assert status == 404 and page["error"] == "not_found"
    assert ok(served, "POST", "/api/corrections/commit", {})["status"] == "accepted"


def test_catalog_facts_bundles_and_queue_options_are_in_the_api(served):
    item = ok(served, "GET", "/api/items/511900-QR-0002")  # 结婚登记: 0 promised days
    facts = item["facts"]
    assert facts["promised_text"] == "即办" and facts["place"] == "婚姻登记处 1楼 1-2号窗口"
    assert ok(served, "GET", "/api/items/511900-XK-0008")["facts"]["intermediaries"]
    village = ok(served, "GET", "/api/items/511900-XK-0012")["facts"]
    assert village["village"] and [p["code"] for p in village["village_points"]] == ["511902-V-0001",
                                                                                       "511902-V-0002"]
    assert [b["code"] for b in ok(served, "GET", "/api/bundles")["bundles"]] == ["B01", "B02"]
    assert ok(served, "GET", "/api/queue/options") == {"green": {"offered": False, "max_cases": 0}}
    status, refused = call(served, "POST", "/api/queue", {"category": "ECO", "green": True, "cases": 3,
                                                         "agent_id": "0058"})
    assert status == 403 and refused["error"] == "green_not_registered"
    options = ok(served, "GET", "/api/evaluate/options")
    assert [r["code"] for r in options["reasons"]][:2] == ["not_told_once", "asked_again"]
