"""Every request type of §6 answered on the Response Topic with the Correlation Data echoed."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from tests.central.conftest import command, start_central, wait_stats
from tests.central.fake_kiosk import verify

pytestmark = pytest.mark.integration

ZHANG = {"name": "张伟", "id_type": "resident", "id_no": "511902198806120319", "phone": "13812345678"}


def submitted(kiosk, **over) -> tuple[dict, dict]:
    case = kiosk.send_case(kiosk.case(applicant=ZHANG, **over))
    return case, kiosk.wait_ack(case["msg_id"])


def test_case_query_masked_view_never_shows_identity(central, kiosk):
    case, ack = submitted(kiosk)
    reply = kiosk.request("case.query", query_code=case["query_code"])
    assert reply["type"] == "case.status" and reply["found"] is True
    view = reply["case"]
    assert view["applicant_masked"] == "张*" and view["status"] == "received"
    assert view["item_name"] == "企业设立登记" and view["promised_by"] == ack["detail"]["promised_by"]
    assert [s["code"] for s in view["steps"]] == ["P01", "P02", "P03", "P04", "P05"]
    assert view["steps"][0]["state"] == "active" and view["steps"][0]["light"] in ("green", "yellow", "red")
    assert view["pickup"]["method"] == "window" and view["pickup"]["ready"] is False
    text = json.dumps(reply, ensure_ascii=False)
    for secret in (ZHANG["id_no"], ZHANG["phone"], "张伟", "case_no"):
        assert secret not in text
    unknown = kiosk.request("case.query", query_code="7KQ2M9XDPA4TH6WRP")
    assert unknown == {**unknown, "type": "case.status", "found": False}


def test_case_list_full_views_newest_first(central, kiosk):
    first, _ = submitted(kiosk)
    second, ack2 = submitted(kiosk, item={"code": "511900-XK-0005", "situation": "S01", "catalog": 1})
    other = kiosk.send_case(kiosk.case(applicant={**ZHANG, "id_no": "510107199903050262", "name": "欧阳晓雯"}))
    kiosk.wait_ack(other["msg_id"])
    reply = kiosk.request("case.list", applicant={"id_type": "resident", "id_no": ZHANG["id_no"]})
    assert reply["type"] == "case.list"
    assert [c["case_id"] for c in reply["cases"]] == [second["case_id"], first["case_id"]]
    full = reply["cases"][0]
    assert full["case_no"] == ack2["detail"]["case_no"]
    assert full["applicant"] == {"name": "张伟", "phone": "138****5678"}
    assert ZHANG["id_no"] not in json.dumps(reply)


def test_pickup_verify_outcomes(central, kiosk):
    case, _ = submitted(kiosk)
    holder = {"id_type": "resident", "id_no": ZHANG["id_no"]}
    assert kiosk.request("pickup.verify", query_code=case["query_code"], applicant=holder)["result"] == "not_ready"
    stranger = {"id_type": "resident", "id_no": "510107199903050262"}
    assert kiosk.request("pickup.verify", query_code=case["query_code"], applicant=stranger)["result"] == "mismatch"
    assert kiosk.request("pickup.verify", query_code="7KQ2M9XDPA4TH6WRP", applicant=holder)["result"] == "not_found"
    command(central, f"status {case['case_id']} ready_for_pickup")
    ready = kiosk.request("pickup.verify", query_code=case["query_code"], applicant=holder)
    assert ready["type"] == "pickup.result" and ready["result"] == "ok" and 13 <= ready["window"] <= 24  # ECO floor


def test_queue_numbers_per_category_and_green_channel(central, kiosk):
    first = kiosk.request("queue.take", category="ECO", priority="normal", agent_id=None, cases=1)
    second = kiosk.request("queue.take", category="ECO", priority="normal", agent_id=None, cases=1)
    soc = kiosk.request("queue.take", category="SOC", priority="normal", agent_id=None, cases=1)
    green = kiosk.request("queue.take", category="CON", priority="green", agent_id="AG-0058", cases=4)
    # 绿色通道 only for agents registered for it, within their number of cases (addendum "Services")
    refused = kiosk.request("queue.take", category="CON", priority="green", agent_id="AG-0031", cases=4)
    assert refused["ok"] is False and refused["error"] == "green_not_registered" and "number" not in refused
    too_many = kiosk.request("queue.take", category="CON", priority="green", agent_id="AG-0058", cases=6)
    assert too_many["error"] == "green_cases"
    assert (first["type"], first["number"], second["number"], soc["number"]) == ("queue.ticket", "B001", "B002", "A001")
    assert second["waiting"] >= first["waiting"] and green["waiting"] == 0
    assert green["number"].startswith("V") and green["cases"] == 4 and "绿色通道" in green["window_hint"]


def test_agent_login_default_agent_signed_token(central, kiosk, identities_file):
    id_no = json.loads(identities_file.read_text(encoding="utf-8"))["identities"][1]["id_number"]
    reply = kiosk.request("agent.login", agent_id="AG-0031", id_no=id_no, pin="123456")
    assert reply["type"] == "agent.session" and reply["ok"] is True and reply["villages"]
    token = reply["token"]
    public = (Path(central.ready["keys"]) / f"{token['key_id']}.pub").read_text().strip()
    assert verify(token, public) and token["agent_id"] == "AG-0031"
    assert token["expires_at"].endswith("T23:59:59+08:00") and token["expires_at"] == reply["expires_at"]
    assert verify({**token, "agent_id": "AG-0032"}, public) is False
    wrong = kiosk.request("agent.login", agent_id="AG-0031", id_no=id_no, pin="654321")
    assert wrong["ok"] is False and "token" not in wrong


def test_agent_login_from_agents_file(broker, tmp_path, catalog_file):
    from tests.central.fake_kiosk import FakeKiosk
    agents = {"agents": [{"agent_id": "AG-0100", "name": "李四", "id_no": "51190219730415109X",
                          "pin_sha256": hashlib.sha256(b"AG-0100:246810").hexdigest(), "villages": ["回风村"]}]}
    (tmp_path / "agents.json").write_text(json.dumps(agents, ensure_ascii=False), encoding="utf-8")
    sim = start_central(broker, tmp_path, catalog_file, "--agents", str(tmp_path / "agents.json"))
    kiosk = FakeKiosk(broker.url)
    try:
        ok = kiosk.request("agent.login", agent_id="AG-0100", id_no="51190219730415109x", pin="246810")
        assert ok["ok"] is True and ok["name"] == "李四" and ok["villages"] == ["回风村"]
        default = kiosk.request("agent.login", agent_id="AG-0031", id_no="510107199903050262", pin="123456")
        assert default["ok"] is False
    finally:
        kiosk.close()
        sim.stop()


def test_materials_shared_lists_shareable_codes(central, kiosk):
    reply = kiosk.request("materials.shared", applicant={"id_type": "resident", "id_no": ZHANG["id_no"]},
                          item="511900-XK-0001", situation="S01")
    assert reply["type"] == "materials.shared" and reply["materials"] == ["M03", "M04", "M06"]


def test_invalid_request_answered_with_error(central, kiosk):
    reply = kiosk.request("case.query", query_code="NOT-A-CODE")
    assert reply["ok"] is False and "query_code" in reply["error"]


def test_expired_request_ignored(central, kiosk):
    command(central, "pause")
    correlation = b"0123456789abcdef"
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = f"gov/v1/down/{kiosk.device}/reply"
    props.CorrelationData = correlation
    props.MessageExpiryInterval = 1
    kiosk.publish("request", kiosk.envelope("request", "case.query", query_code="7KQ2M9XDPA4TH6WRP"), properties=props)
    wait_stats(central, lambda stats: stats["held"] >= 1)  # central has the request in hand
    time.sleep(1.5)  # let the request's expiry pass while central holds it
    command(central, "resume")
    assert kiosk.request("case.query", query_code="7KQ2M9XDPA4TH6WRP")["found"] is False
    assert [d for d in kiosk.received if d.correlation == correlation] == []
