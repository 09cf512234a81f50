"""Submission flow over port doubles: commit before "submitted", ack → online notice, no ack → offline
notice with the same code, failed print → reprint with the applicant's card, paper out → paused."""
from __future__ import annotations

import pytest

from drivers.scanner.receipt_code import parse_receipt_code
from kiosk.ports import CaseAck, PrinterState
from kiosk.services import ServiceError
from tests.app.doubles import ALICE, BOB

ITEM, SITUATION = "511900-XK-0004", "S01"  # 食品经营许可: 网上预审, 5 days, agent allowed


def fill(world, *, scan: bool = False) -> dict:
    s = world.services.submit
    view = s.start(ITEM, SITUATION)
    for m in view["materials"]:
        if m["choice"] is None:
            if scan:
                s.capture(m["code"])
            else:
                s.choose(m["code"], "paper")
    s.details(phone="138 0000 0000")
    s.details(pickup=view["pickup_methods"][0]["method"])
    return s.details(consent=True)


def test_online_submission_prints_notice_with_case_number(world):
    world.ctx.sessions.card_present(ALICE)
    view = fill(world)
    assert view["applicant"] == "张*丰" and view["phone"] == "138****0000"
    result = world.services.submit.commit()
    assert result["status"] == "accepted" and result["printed"] is True
    (fields, blobs), = world.sync.cases
    assert fields["applicant"]["id_no"] == ALICE.id_number and fields["applicant"]["phone"] == "13800000000"
    assert fields["channel"] == "self" and fields["agent"] is None and blobs == {}
    assert parse_receipt_code(fields["query_code"]) == fields["query_code"]
    notice, = world.printer.printed
    assert notice["kind"] == "online" and notice["case_no"] == "SL2026-000123"
    assert notice["query_code"] == fields["query_code"] and notice["applicant_masked"] == "张*丰"
    assert ALICE.id_number not in repr(notice) and "13800000000" not in repr(notice)
    assert "card:draft" not in world.ctx.sessions.current.flow


def test_offline_submission_is_committed_and_prints_the_pending_variant(world):
    world.sync.online = False
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    result = world.services.submit.commit()
    assert result["status"] == "pending" and len(world.sync.cases) == 1
    notice = world.printer.printed[0]
    assert notice["kind"] == "offline" and notice["case_no"] is None
    assert notice["query_code"] == world.sync.cases[0][0]["query_code"]
    assert notice["promised_by"] == "2026-12-01"  # 5 working days after Tue 24 Nov, from the calendar


def test_no_promised_date_from_a_wrong_clock(world):
    world.sync.online = False
    world.sync.clock_good = False
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    notice = world.services.submit.commit()["notice"]
    assert notice["promised_by"] is None and notice["submitted_at"] is None


def test_commit_happens_before_the_print_and_a_failed_print_can_be_reprinted(world):
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    world.printer.fail_next = "paper_out"
    result = world.services.submit.commit()
    assert len(world.sync.cases) == 1  # committed although nothing printed
    assert result["printed"] is False and "缺纸" in result["print_message"]
    code = result["notice"]["query_code"]
    world.ctx.sessions.card_present(BOB)  # someone else's card: no reprint
    with pytest.raises(ServiceError) as info:
        world.services.submit.reprint(code)
    assert info.value.code == "not_found"
    world.ctx.sessions.card_present(ALICE)
    assert world.services.submit.reprint(result["notice"]["query_code_display"])["printed"] is True
    assert world.printer.printed[-1]["query_code"] == code


def test_paper_out_pauses_submission_but_not_consultation(world):
    world.printer.state = PrinterState(online=True, paper="out")
    world.ctx.devices.poll_printer()
    world.ctx.sessions.card_present(ALICE)
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "paused" and "缺纸" in info.value.message
    assert world.services.consult.search("yyzz")["items"]
    assert world.ctx.devices.status()["blocks"]["notice"]


def test_reader_missing_and_no_card(world):
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "card_needed"
    world.ctx.devices.set_reader(False)
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "reader_missing" and "读卡器" in info.value.message


def test_item_not_for_self_service(world):
    world.ctx.sessions.card_present(ALICE)
    with pytest.raises(ServiceError) as info:
        world.services.submit.start("511900-QR-0002", "S01")  # 结婚登记: 窗口办理
    assert info.value.code == "not_allowed"


def test_incomplete_draft_is_refused_with_what_is_missing(world):
    world.ctx.sessions.card_present(ALICE)
    world.services.submit.start(ITEM, SITUATION)
    with pytest.raises(ServiceError) as info:
        world.services.submit.commit()
    assert info.value.code == "incomplete" and world.sync.cases == []
    with pytest.raises(ServiceError):
        world.services.submit.details(phone="12345")


def test_platform_held_materials_come_from_central(world):
    world.sync.replies["materials.shared"] = {"materials": ["M02"]}
    world.ctx.sessions.card_present(ALICE)
    view = world.services.submit.start(ITEM, SITUATION)
    held = {m["code"] for m in view["materials"] if m["held"]}
    assert held == {"M02"}
    with pytest.raises(ServiceError):
        world.services.submit.choose("M01", "shared")


def test_agent_submission_with_scanned_pages_and_village_list(world):
    world.sync.replies["agent.login"] = {"ok": True, "name": "李四", "token": "t", "villages": ["示例村"],
                                         "expires_at": "2026-11-24T23:59:59+08:00"}
    world.ctx.sessions.card_present(BOB)
    world.services.agent.login("0031", "123456")
    assert world.sync.requests[-1] == ("agent.login", {"agent_id": "AG-0031", "id_no": BOB.id_number,
                                                       "pin": "123456"})
    world.ctx.sessions.card_present(ALICE)  # the resident, proof of presence
    world.camera.reject_next = "blurred_page"
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION) and world.services.submit.capture("M01")
    assert info.value.code == "capture_blurred_page" and "不清楚" in info.value.message
    fill(world, scan=True)
    world.services.submit.capture("M01")
    world.services.submit.retake("M01", 0)
    result = world.services.submit.commit()
    fields, blobs = world.sync.cases[0]
    assert fields["channel"] == "agent" and fields["agent"] == {"agent_id": "AG-0031", "name": "李四"}
    assert fields["applicant"]["id_no"] == ALICE.id_number
    scanned = [m for m in fields["materials"] if m["source"] == "scan"]
    assert scanned and all(m["blob"]["id"] in blobs and m["blob"]["mime"] == "application/pdf" for m in scanned)
    world.sync.views[result["notice"]["query_code"]] = {"item_name": "食品经营许可", "status": "received",
                                                         "steps": [], "applicant_masked": "张*丰"}
    cases = world.services.agent.village_cases()["cases"]
    assert cases[0]["query_code"] == result["notice"]["query_code"] and cases[0]["case"]["status"] == "received"


def test_agent_offline_login_needs_an_earlier_day_token(world):
    world.ctx.sessions.card_present(BOB)
    world.sync.online = False
    with pytest.raises(ServiceError) as info:
        world.services.agent.login("0031", "123456")
    assert info.value.code == "offline"
    world.sync.online = True
    world.sync.replies["agent.login"] = {"ok": True, "name": "李四", "token": "t", "villages": [],
                                         "expires_at": "2026-11-24T23:59:59+08:00"}
    world.services.agent.login("0031", "123456")
    world.ctx.sessions.end()
    world.ctx.sessions.card_present(BOB)
    world.sync.online = False
    assert world.services.agent.login("0031", "123456")["agent"]["offline"] is True
    world.ctx.sessions.end()
    world.ctx.sessions.card_present(BOB)
    with pytest.raises(ServiceError):
        world.services.agent.login("0031", "654321")


def test_rejected_case_says_so_and_prints_nothing(world):
    world.sync.ack = CaseAck("rejected", {"reason": "bad"})
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    result = world.services.submit.commit()
    assert result["status"] == "rejected" and world.printer.printed == []


def test_storage_full_refuses_before_anything_is_said(world):
    world.sync.full = True
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    with pytest.raises(ServiceError) as info:
        world.services.submit.commit()
    assert info.value.code == "storage_full" and world.printer.printed == []
    assert world.ctx.sessions.current.flow.get("card:draft")  # kept: the villager may go to the window
