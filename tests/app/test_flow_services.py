"""Consult, follow-a-case, my cases, queue, pickup, evaluation, help and maintenance over port doubles."""
from __future__ import annotations

import pytest

from edge_sync.querycode import RejectCause, ScanKind, format_query_code, mint_query_code
from kiosk.ports import PrinterState, ScanEvent
from kiosk.services import ServiceError
from kiosk.services.devices import Light
from tests.app.doubles import ALICE

VIEW = {"item_name": "结婚登记", "status": "in_review", "promised_by": "2026-12-01", "applicant_masked": "张*丰",
        "steps": [{"name": "窗口受理", "state": "done", "light": "green", "limit_days": 0},
                  {"name": "审查", "state": "active", "light": "yellow", "limit_days": 1}],
        "pickup": {"method": "window", "window": 5, "ready": False},
        "id_no": "51190219800101123X", "phone": "13800000000", "address": "某地"}


def test_print_checklist_sends_the_item_data(world):
    result = world.services.consult.print_checklist("511900-XK-0001", "S02")
    assert result["printed"] is True and result["evaluation"]["kind"] == "visit"
    slip, = world.printer.printed
    lines = slip.texts()
    assert slip.title == "checklist_slip" and "企业设立登记" in lines
    assert [line for line in lines if line.startswith("情形：")] == ["情形：个人独资企业设立登记"]
    assert slip.qr_payloads() == ["https://zwfw.example.gov.cn/item/511900-XK-0001"]


def test_print_checklist_failure_is_a_villager_message(world):
    world.printer.fail_next = "cover_open"
    with pytest.raises(ServiceError) as info:
        world.services.consult.print_checklist("511900-XK-0001", None)
    assert "盖" in info.value.message


def test_follow_by_code_shows_only_the_masked_fields(world):
    code = mint_query_code()
    world.sync.views[code] = VIEW
    result = world.services.query.by_code(format_query_code(code).lower())
    case = result["case"]
    assert result["found"] and not result["cached"]
    assert case["status_label"] == "审查中" and case["steps"][1]["light_label"] == "即将到期"
    # What may be done from the progress view: 催办 prominent on the yellow step, no 撤回 once accepted.
    assert case["actions"] == {"urge": True, "urge_prominent": True, "complain": True, "withdraw": False,
                               "correct": False, "print_acceptance": True}
    text = repr(result)
    assert "51190219800101123X" not in text and "13800000000" not in text and "某地" not in text


def test_follow_offline_from_cache_with_age(world):
    code = mint_query_code()
    world.sync.online = False
    world.sync.cached[code] = (VIEW, 3600.0)
    result = world.services.query.by_code(code)
    assert result["cached"] is True and result["age_s"] == 3600.0
    with pytest.raises(ServiceError) as info:
        world.services.query.by_code(mint_query_code())
    assert info.value.code == "offline"


def test_other_texts_never_reach_central(world):
    for text in ["https://evil.example.com/q/7KQ2M9XDPA4TH6WRP", "hello", "7KQ2M9XDPA4TH6WRX"]:
        with pytest.raises(ServiceError) as info:
            world.services.query.by_code(text)
        assert info.value.code == "not_receipt"
    assert world.sync.requests == []


def test_scan_events(world):
    code = mint_query_code()
    world.services.on_scan(ScanEvent(text=code, kind=ScanKind.RECEIPT_CODE, code=code))
    world.services.on_scan(ScanEvent(text="http://x.cn", kind=ScanKind.OTHER, cause=RejectCause.FOREIGN_URL))
    world.services.on_scan(ScanEvent(text=code[:16] + "?", kind=ScanKind.OTHER, cause=RejectCause.BAD_CHECK))
    scans = [e for e in world.events if e["type"] == "scan"]
    assert scans[0] == {"type": "scan", "kind": "receipt_code", "code": code}
    assert scans[1]["kind"] == "other" and "不是受理通知书上的二维码" in scans[1]["message"]
    assert scans[2]["kind"] == "other" and "查询码有误" in scans[2]["message"]
    assert "x.cn" not in scans[1]["message"] and code[:16] not in scans[2]["message"]


def test_my_cases_need_the_card_and_mask_the_phone(world):
    with pytest.raises(ServiceError):
        world.services.query.my_cases()
    world.ctx.sessions.card_present(ALICE)
    world.sync.listed = [{**VIEW, "case_no": "SL-1", "applicant": {"name": "张三丰", "phone": "13800000000"}}]
    cases = world.services.query.my_cases()["cases"]
    assert cases[0]["applicant"] == {"name": "张*丰", "phone": "138****0000"} and cases[0]["case_no"] == "SL-1"
    assert world.sync.requests[-1][1]["applicant"] == {"id_type": "resident", "id_no": ALICE.id_number}


def test_queue_ticket_normal_and_green(world):
    world.sync.replies["queue.take"] = {"number": "B027", "waiting": 4, "window_hint": "13-24"}
    result = world.services.queue.take("ECO")
    assert result["ticket"]["number"] == "B027" and result["printed"] is True
    assert world.printer.printed[-1].title == "queue_ticket" and "B027" in world.printer.printed[-1].texts()
    assert world.sync.events[-1] == ("ticket.issued", {"number": "B027", "category": "ECO", "priority": "normal",
                                                       "agent_id": None})
    assert result["evaluation"]["kind"] == "ticket" and result["evaluation"]["ref"].endswith(":ECO:B027")
    with pytest.raises(ServiceError) as info:  # typing an agent number no longer opens the green channel
        world.services.queue.take("ECO", green=True, cases=3, agent_id="31")
    assert info.value.code == "green_not_registered"
    assert world.services.queue.options() == {"green": {"offered": False, "max_cases": 0}}


def test_queue_offline_and_failed_print(world):
    world.sync.online = False
    with pytest.raises(ServiceError) as info:
        world.services.queue.take("SOC")
    assert info.value.code == "offline"
    world.sync.online = True
    world.sync.replies["queue.take"] = {"number": "A001", "waiting": 0}
    world.printer.fail_next = "paper_out"
    result = world.services.queue.take("SOC")
    assert result["printed"] is False and "号码" in result["print_message"]


def test_pickup_check(world):
    code = mint_query_code()
    world.ctx.sessions.card_present(ALICE)
    world.sync.replies["pickup.verify"] = {"result": "ok", "window": 7}
    result = world.services.pickup.verify(code)
    assert result["result"] == "ok" and "7 号窗口" in result["message"]
    world.sync.replies["pickup.verify"] = {"result": "mismatch"}
    assert "不一致" in world.services.pickup.verify(code)["message"]


def test_help_is_an_event(world):
    world.services.feedback.help()
    assert world.sync.events[-1] == ("help.requested", {"source": "screen"})


def test_maintenance_needs_the_pin_and_locks(world):
    with pytest.raises(ServiceError):
        world.services.maintenance.status()
    with pytest.raises(ServiceError):
        world.services.maintenance.login("000000")
    status = world.services.maintenance.login("123456")
    assert status["catalog"]["version"] == 1 and status["devices"]["printer"]["online"]
    world.services.maintenance.print_test()
    assert world.printer.printed[-1].title == "test_page"
    world.services.maintenance.lock()
    assert world.ctx.devices.locked and world.ctx.devices.light() is Light.LOCKED
    assert world.ctx.sessions.current is None  # locking ended the session


def test_light_follows_state(world):
    devices = world.ctx.devices
    devices.set_online(True)
    assert devices.light() is Light.IDLE
    devices.set_busy(True)
    assert devices.light() is Light.BUSY
    world.printer.state = PrinterState(online=True, paper="out")
    devices.poll_printer()
    assert devices.light() is Light.FAULT
    world.printer.state = PrinterState(online=True)
    devices.poll_printer()
    devices.set_online(False)
    assert devices.light() is Light.OFFLINE
