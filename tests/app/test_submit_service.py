"""Submission over port doubles of our own ports (FakeSync answers the acks a test needs) and the REAL
receipts layouts: commit before "submitted", the typed notice (受理通知书 / 预审回执 / 待平台确认) identical on
the page and on paper, pickup captured for real, machine-checked conditions, 一件事一次办, agent consent by
the resident's own card, idempotent commits, and never "submit again" after a commit."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from edge_sync.querycode import parse_receipt_code, receipt_url
from kiosk.catalog import Catalog, load_catalog
from kiosk.ports import CaseAck, PrinterState
from kiosk.services import ServiceError
from simulators.hall.stack import sample_file
from tests.app.doubles import ALICE, BOB
from tests.support.drafts import answer_materials

ITEM, SITUATION = "511900-XK-0001", "S02"  # 企业设立登记, 个人独资: 全程网办, agent allowed, own window
PRE_REVIEW_ITEM = "511900-XK-0004"         # 食品经营许可: 网上预审 (window check)
MAIL = {"recipient": "张三丰", "phone": "13800000001", "province": "四川省", "city": "示例市", "county": "巴州区",
        "street": "江北街道", "detail": "回风路18号附2号", "postcode": "636000"}
AGENT_LOGIN = {"ok": True, "name": "李四", "token": {"type": "agent.token", "sig": "x"}, "villages": ["江北街道示例村"],
               "expires_at": "2026-11-24T23:59:59+08:00"}
AGAIN = ("重新提交", "再提交", "再次提交", "重新申请")


@dataclass(frozen=True)
class Child:
    name: str = "陈思远"
    id_number: str = "500107201508080531"
    address: str = "重庆市九龙坡区杨家坪街道示例路77号5-3"
    id_type: str = "resident"


@pytest.fixture(scope="module")
def sample_catalog() -> Catalog:
    """The catalog the project ships (with the service fields of issue 11)."""
    return load_catalog(sample_file("catalog-sample.json"))


@pytest.fixture(autouse=True)
def hall_site(world):
    world.ctx.settings.site_id = "511902-HALL-01"  # the hall of the sample catalog's village points


def fill(world, *, item: str = ITEM, situation: str = SITUATION, paper: tuple = ()) -> dict:
    s = world.services.submit
    answer_materials(s, s.start(item, situation), paper)
    s.details(phone="138 0000 0000")
    s.set_pickup("window")
    return s.details(consent=True)


def lines(document) -> list[str]:
    return document.texts()


def test_accepted_at_once_prints_the_acceptance_notice_with_every_field(world):
    world.sync.ack = CaseAck("accepted", {"case_no": "SL2026-000123", "promised_by": "2026-11-26",
                                          "status": "accepted"})
    world.ctx.sessions.card_present(ALICE)
    view = fill(world)
    assert view["applicant"] == "张*丰" and view["phone"] == "138****0000" and view["pre_review"] is False
    result = world.services.committer.commit()
    assert result["status"] == "accepted" and result["printed"] is True and result["submitted"] is True
    (fields, blobs), = world.sync.cases
    assert fields["applicant"]["id_no"] == ALICE.id_number and fields["applicant"]["phone"] == "13800000000"
    assert fields["pickup"] == {"method": "window", "detail": "企业开办专区 2楼 13-16号窗口"}
    assert all(m["blob"]["id"] in blobs for m in fields["materials"] if m["source"] == "scan")
    notice = result["notice"]
    case = notice["cases"][0]
    assert notice["title"] == "受理通知书" and case["case_no"] == "SL2026-000123"
    assert case["promised_text"] == "2个工作日（2026-11-26前）" and case["authority"] == "示例市市场监督管理局"
    printed = lines(world.printer.printed[0])
    for line in ("受理通知书", "受理机关 示例市市场监督管理局", "受理编号 SL2026-000123", "申请人 张*丰",
                 "承诺办结 2个工作日（2026-11-26前）", "取件地点 企业开办专区 2楼 13-16号窗口",
                 "凭本通知书和身份证领取", "投诉电话 12345", case["query_code_display"]):
        assert line in printed, line
    assert "请携带原件：" in printed and world.printer.printed[0].qr_payloads() == [receipt_url(case["query_code"])]
    assert ALICE.id_number not in repr(printed) + repr(result) and "13800000000" not in repr(result)
    assert parse_receipt_code(fields["query_code"]) == case["query_code"]


def test_paper_originals_give_a_pre_review_receipt_without_promised_date(world):
    world.sync.ack = CaseAck("accepted", {"case_no": "SL2026-000124", "promised_by": "2026-11-26",
                                          "status": "received"})
    world.ctx.sessions.card_present(ALICE)
    view = fill(world, paper=("M03",))
    assert view["pre_review"] is True and view["originals"]
    result = world.services.committer.commit()
    case = result["notice"]["cases"][0]
    assert result["status"] == "pre_review" and case["stage_title"] == "预审回执" and case["promised_text"] is None
    printed = lines(world.printer.printed[0])
    assert printed[0] == "预审回执" and "办件编号 SL2026-000124" in printed
    assert "承诺办结 原件核验通过、受理后计算" in printed and not any("2026-11-26" in line for line in printed)
    assert any("经营场所使用证明" in line for line in printed)


def test_window_check_item_is_pre_review_even_if_central_said_accepted(world):
    world.sync.ack = CaseAck("accepted", {"case_no": "X", "promised_by": "2026-12-01", "status": "accepted"})
    world.ctx.sessions.card_present(ALICE)
    fill(world, item=PRE_REVIEW_ITEM, situation="S01")
    assert world.services.committer.commit()["status"] == "pre_review"


def test_offline_notice_is_the_same_on_screen_and_paper(world):
    world.sync.online = False
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    result = world.services.committer.commit()
    notice, printed = result["notice"], lines(world.printer.printed[0])
    assert result["status"] == "pending" and notice["mark"] == "已提交，待平台确认" and notice["case_no"] is None
    # issue 16: the screen showed a promised date the paper never printed; now both say 待平台确认
    assert notice["promised_by"] is None and notice["promised_text"] is None and "承诺办结 待平台确认" in printed
    assert notice["query_code"] == world.sync.cases[0][0]["query_code"]
    assert not any(word in result["message"] for word in AGAIN)


def test_no_submission_time_from_a_wrong_clock(world):
    world.sync.online = False
    world.sync.clock_good = False
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    notice = world.services.committer.commit()["notice"]
    assert notice["submitted_at"] is None and "提交时间 待平台确认" in lines(world.printer.printed[0])


def test_failed_print_after_commit_says_submitted_and_reprints_for_the_holder_only(world):
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    world.printer.fail_next = "paper_out"
    result = world.services.committer.commit()
    assert len(world.sync.cases) == 1 and result["printed"] is False and result["reprint"] is True
    assert "缺纸" in result["print_message"] and "已经提交成功" in result["print_message"]
    assert not any(word in repr(result) for word in AGAIN)
    code = result["notice"]["query_code"]
    world.ctx.sessions.card_present(BOB)  # someone else's card: no reprint
    with pytest.raises(ServiceError) as info:
        world.services.committer.reprint(code)
    assert info.value.code == "not_found"
    world.ctx.sessions.card_present(ALICE)
    assert world.services.committer.reprint(result["notice"]["query_code_display"])["printed"] is True
    assert parse_receipt_code(world.printer.printed[-1].qr_payloads()[0]) == code


def test_a_fault_of_ours_after_the_commit_still_answers_submitted(world, monkeypatch):
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    monkeypatch.setattr(world.sync, "wait_case_ack", lambda case_id, timeout: 1 / 0)
    result = world.services.committer.commit()
    assert result["submitted"] is True and len(world.sync.cases) == 1 and "已经提交成功" in result["message"]
    assert world.services.committer.commit() == result  # and again: the same case, nothing new


def test_concurrent_commits_of_one_draft_give_one_case(world):
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(world.services.committer.commit())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert len(world.sync.cases) == 1 and len(world.printer.printed) == 1
    world.ctx.sessions.card_present(BOB)  # the next person: nothing of the previous commit is theirs
    with pytest.raises(ServiceError) as info:
        world.services.committer.commit()
    assert info.value.code == "no_draft" and len(world.sync.cases) == 1
    assert world.services.evaluation.offers() == {"offers": []}


def test_pickup_by_mail_and_at_a_village_point_travel_in_the_case(world):
    world.ctx.sessions.card_present(ALICE)
    s = world.services.submit
    fill(world, item="511900-XK-0003", situation="S01")  # 个体工商户: window, mail, village point
    with pytest.raises(ServiceError) as info:
        s.details(pickup="mail")  # a mail pickup needs its address
    assert info.value.code == "address_needed"
    with pytest.raises(ServiceError) as info:
        s.set_pickup("mail", address={**MAIL, "detail": ""})
    assert "详细地址" in info.value.message
    view = s.set_pickup("mail", address=MAIL)
    assert view["pickup_place"] == "四川省示例市巴州区****（收件人 张*丰 138****0001）" and view["consent"] is False
    s.details(consent=True)
    result = world.services.committer.commit()
    fields, _ = world.sync.cases[0]
    address = "四川省示例市巴州区江北街道回风路18号附2号 张三丰 13800000001 636000"
    assert fields["pickup"] == {"method": "mail", "detail": address}
    assert result["notice"]["cases"][0]["pickup"]["place"] == view["pickup_place"]
    assert "回风路" not in repr(result) and "回风路" not in repr(lines(world.printer.printed[0]))
    world.ctx.sessions.card_present(BOB)
    fill(world, item="511900-XK-0003", situation="S01")
    options = s.view()["pickup_options"]["village_points"]
    assert [p["code"] for p in options] == ["511902-V-0001", "511902-V-0002"]  # this hall's, not another's
    with pytest.raises(ServiceError):
        s.set_pickup("village_point")  # two points: the person chooses one
    s.set_pickup("village_point", point="511902-V-0002")
    s.details(consent=True)
    result = world.services.committer.commit()
    assert world.sync.cases[1][0]["pickup"] == {"method": "village_point",
                                                "detail": "511902-V-0002 东城街道示例社区便民服务点"}
    assert "取件地点 东城街道示例社区便民服务点（东城街道示例社区服务中心）" in lines(world.printer.printed[-1])


def test_conditions_checked_from_the_card_before_submission(world):
    world.ctx.sessions.card_present(Child())
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "not_eligible" and "年满18周岁" in info.value.message and "11周岁" in info.value.message
    world.ctx.sessions.card_present(BOB.__class__(BOB.name, BOB.id_number, id_type="hmt_permit"))
    with pytest.raises(ServiceError) as info:
        world.services.submit.start("511900-QR-0001", "S01")  # 户口迁移: residents' cards only
    assert info.value.code == "not_eligible" and "只受理居民身份证" in info.value.message


def test_bundle_one_submission_one_case_per_item_one_notice(world):
    world.ctx.sessions.card_present(ALICE)
    s = world.services.submit
    view = s.start_bundle("B01")
    assert [i["code"] for i in view["items"]] == ["511900-XK-0001", "511900-XK-0004"]
    merged = [m for m in view["materials"] if len(m["for_items"]) == 2]
    assert [m["name"] for m in merged] == ["委托代理人身份证件及授权委托书"]  # asked by both: handed in once
    answer_materials(s, view)
    s.details(phone="13800000000")
    s.set_pickup("window")
    s.details(consent=True)
    result = world.services.committer.commit()
    assert [c[0]["item"]["code"] for c in world.sync.cases] == ["511900-XK-0001", "511900-XK-0004"]
    kind, link = world.sync.events[-1]
    assert kind == "case.bundle" and [c["query_code"] for c in link["cases"]] == \
        [c["query_code"] for c in result["notice"]["cases"]]
    printed = world.printer.printed[0]
    assert "一件事 开办小餐馆一件事" in lines(printed) and len(printed.qr_payloads()) == 2


def test_agent_cannot_consent_for_the_resident_and_must_scan_the_power_of_attorney(world):
    world.sync.replies["agent.login"] = AGENT_LOGIN
    world.ctx.sessions.card_present(BOB)
    world.services.agent.login("0031", "123456")
    world.ctx.sessions.card_present(ALICE)  # the resident's card: proof of presence
    world.services.on_card(ALICE)
    s = world.services.submit
    view = s.start(ITEM, SITUATION)
    authorization = next(m for m in view["materials"] if m["authorization"])
    assert authorization["code"] == "M04" and authorization["required"] and authorization["choice"] is None
    with pytest.raises(ServiceError) as info:
        s.choose("M04", "paper")
    assert info.value.code == "authorization_scan"
    answer_materials(s, view)
    s.details(phone="13800000000")
    s.set_pickup("window")
    with pytest.raises(ServiceError) as info:  # the agent taps 我同意: refused, whatever the card in the reader
        s.details(consent=True)
    assert info.value.code == "consent_by_resident"
    assert s.ask_resident_consent()["consent_state"] == "awaiting_card"
    with pytest.raises(ServiceError):  # asked, but the resident's card was not read again
        s.details(consent=True)
    world.services.on_card(None)
    world.services.on_card(ALICE)  # the resident puts the card back: a fresh read
    assert s.view()["consent_state"] == "resident_may_consent"
    assert s.details(consent=True)["consent_state"] == "given"
    s.details(phone="13900000000")  # anything changed after the consent: it must be given again
    assert s.view()["consent_state"] == "ask_resident"


def test_rejected_case_says_so_and_prints_nothing(world):
    world.sync.ack = CaseAck("rejected", {"reason": "bad"})
    world.ctx.sessions.card_present(ALICE)
    fill(world)
    result = world.services.committer.commit()
    assert result["status"] == "rejected" and world.printer.printed == []


def test_storage_full_and_incomplete_refuse_before_anything_is_stored(world):
    world.ctx.sessions.card_present(ALICE)
    world.services.submit.start(ITEM, SITUATION)
    with pytest.raises(ServiceError) as info:
        world.services.committer.commit()
    assert info.value.code == "incomplete" and world.sync.cases == []
    world.sync.full = True
    fill(world)
    with pytest.raises(ServiceError) as info:
        world.services.committer.commit()
    assert info.value.code == "storage_full" and world.printer.printed == []
    assert world.services.submit.view()["committed"] is False  # kept: the villager may go to the window


def test_paper_out_pauses_submission_but_not_consultation(world):
    world.printer.state = PrinterState(online=True, paper="out")
    world.ctx.devices.poll_printer()
    world.ctx.sessions.card_present(ALICE)
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "paused" and "缺纸" in info.value.message
    assert world.services.consult.search("yyzz")["items"]


def test_reader_missing_no_card_and_not_self_service(world):
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "card_needed"
    world.ctx.sessions.card_present(ALICE)
    with pytest.raises(ServiceError) as info:
        world.services.submit.start("511900-QR-0002", "S01")  # 结婚登记: 窗口办理
    assert info.value.code == "not_allowed"
    world.ctx.devices.set_reader(False)
    with pytest.raises(ServiceError) as info:
        world.services.submit.start(ITEM, SITUATION)
    assert info.value.code == "reader_missing"


def test_platform_held_materials_come_from_central(world):
    world.sync.replies["materials.shared"] = {"materials": ["M02"]}
    world.ctx.sessions.card_present(ALICE)
    view = world.services.submit.start(ITEM, SITUATION)
    assert {m["code"] for m in view["materials"] if m["held"]} == {"M02"}
    with pytest.raises(ServiceError):
        world.services.submit.choose("M01", "shared")


def test_agent_offline_login_needs_an_earlier_day_token(world):
    world.ctx.sessions.card_present(BOB)
    world.sync.online = False
    with pytest.raises(ServiceError) as info:
        world.services.agent.login("0031", "123456")
    assert info.value.code == "offline"
    world.sync.online = True
    world.sync.replies["agent.login"] = AGENT_LOGIN
    world.services.agent.login("0031", "123456")
    world.ctx.sessions.end()
    world.ctx.sessions.card_present(BOB)
    world.sync.online = False
    assert world.services.agent.login("0031", "123456")["agent"]["offline"] is True
    world.ctx.sessions.end()
    world.ctx.sessions.card_present(BOB)
    with pytest.raises(ServiceError):
        world.services.agent.login("0031", "654321")


def test_a_village_point_terminal_offers_and_prints_its_own_point(world):
    world.ctx.settings.site_id = "511902-V-0002"  # a village terminal: its site is its point
    world.ctx.sessions.card_present(ALICE)
    fill(world, item="511900-XK-0003", situation="S01")
    view = world.services.submit.view()
    assert [p["code"] for p in view["pickup_options"]["village_points"]] == ["511902-V-0002"]
    world.services.submit.details(pickup="village_point")  # the only point: no further choice
    world.services.submit.details(consent=True)
    world.services.committer.commit()
    printed = lines(world.printer.printed[-1])
    assert "取件地点 东城街道示例社区便民服务点（东城街道示例社区服务中心）" in printed
    assert not any("号窗口" in line for line in printed)  # not the hall's window
