"""The hall's services end to end below the screen: terminals (real sync engine, real receipts, persistent
records) against the real central simulator over a real mosquitto — each side of the contract addendum
"Services" checked against the other, and what the person reads and what is printed."""
from __future__ import annotations

import json
import threading
import time

import pytest

from kiosk.services import ServiceError
from kiosk.services.evaluation import offer
from kiosk.services.records import open_records
from tests.edge_sync.conftest import wait_until
from tests.services.terminal import CHILD, MAIL, OUYANG, XIANG, ZHANG, ZHAO, ZHOU, central_case, central_rows
from tests.support.drafts import answer_materials

pytestmark = pytest.mark.integration
ITEM = ("511900-XK-0001", "S02")      # 企业设立登记 个人独资: 全程网办, own window, agent allowed
VILLAGE_ITEM = ("511900-XK-0003", "S01")  # 个体工商户: pickup at a village point allowed
AGAIN = ("重新提交", "再提交", "再次提交", "重新申请")


def test_electronic_case_is_accepted_at_once_and_gets_the_acceptance_notice(net, terminal):
    terminal.card(ZHANG)
    terminal.fill_draft(*ITEM)
    result = terminal.services.committer.commit()
    case = result["notice"]["cases"][0]
    assert result["status"] == "accepted" and case["stage_title"] == "受理通知书" and case["case_no"]
    row = central_case(net, case["query_code"])
    assert row["status"] == "accepted" and row["case_no"] == case["case_no"]
    assert case["promised_by"] == row["promised_by"] and case["promised_text"].endswith(f"（{row['promised_by']}前）")
    envelope = json.loads(row["envelope"])
    assert envelope["pickup"] == {"method": "window", "detail": "企业开办专区 2楼 13-16号窗口"}
    assert "id_no" not in envelope["applicant"]  # central keeps the number only as a hash
    printed = terminal.printer.printed[-1].texts()
    assert "受理通知书" in printed and f"受理编号 {row['case_no']}" in printed and "凭本通知书和身份证领取" in printed
    assert {"kind": "case", "ref": case["query_code"], "title": "企业设立登记"} in result["evaluation"]


def test_originals_at_the_window_give_a_pre_review_then_the_acceptance_notice(net, terminal):
    terminal.card(ZHANG)
    terminal.fill_draft(*ITEM, paper=("M03",))
    result = terminal.services.committer.commit()
    case = result["notice"]["cases"][0]
    assert result["status"] == "pre_review" and case["promised_text"] is None
    assert central_case(net, case["query_code"])["status"] == "received"
    assert "承诺办结 原件核验通过、受理后计算" in terminal.printer.printed[-1].texts()
    with pytest.raises(ServiceError) as info:  # not accepted yet: no 受理通知书
        terminal.services.casework.print_acceptance(case["query_code"])
    assert info.value.code == "not_accepted"
    net.command(f"status {case['query_code']} accepted")  # the window checked the originals: 受理
    printed = terminal.services.casework.print_acceptance(case["query_code"])
    lines = terminal.printer.printed[-1].texts()
    assert printed["printed"] and lines[0] == "受理通知书" and f"受理编号 {case['case_no']}" in lines
    assert any(line.startswith("承诺办结 2个工作日（") for line in lines)


def test_mail_and_village_point_pickup_travel_in_the_case_and_show_masked(net, terminal):
    terminal.card(ZHANG)
    terminal.fill_draft(*VILLAGE_ITEM, pickup="mail", address=MAIL)
    mailed = terminal.services.committer.commit()["notice"]["cases"][0]
    envelope = json.loads(central_case(net, mailed["query_code"])["envelope"])
    assert envelope["pickup"] == {"method": "mail",
                                  "detail": "四川省示例市巴州区江北街道回风路18号附2号 张伟 13800000001"}
    mine = terminal.services.query.my_cases()["cases"]
    view = next(c for c in mine if c["query_code"] == mailed["query_code"])
    assert view["pickup"]["method"] == "mail" and "回风路" not in json.dumps(view, ensure_ascii=False)
    terminal.fill_draft(*VILLAGE_ITEM, pickup="village_point", point="511902-V-0001")
    point = terminal.services.committer.commit()["notice"]["cases"][0]
    assert point["pickup"]["place"] == "江北街道示例村便民服务点（江北街道示例村村委会一楼）"
    envelope = json.loads(central_case(net, point["query_code"])["envelope"])
    assert envelope["pickup"]["detail"] == "511902-V-0001 江北街道示例村便民服务点"
    found = terminal.services.query.by_code(point["query_code"])
    assert found["case"]["pickup"]["method"] == "village_point" and found["evaluation"]["kind"] == "visit"


def test_a_child_cannot_submit_an_adults_situation(terminal):
    terminal.card(CHILD)
    with pytest.raises(ServiceError) as info:
        terminal.services.submit.start("511900-GG-0002", "S01")  # 社会保障卡 首次申领（成年人）
    assert info.value.code == "not_eligible" and "年满18周岁" in info.value.message


def test_bundle_gives_one_case_per_item_linked_at_central_and_one_notice(net, terminal):
    terminal.card(ZHANG)
    s = terminal.services.submit
    answer_materials(s, s.start_bundle("B01"))
    s.details(phone="13800000000")
    s.set_pickup("window")
    s.details(consent=True)
    result = terminal.services.committer.commit()
    codes = [c["query_code"] for c in result["notice"]["cases"]]
    rows = [central_case(net, code) for code in codes]
    assert [r["item_code"] for r in rows] == ["511900-XK-0001", "511900-XK-0004"]
    links = wait_until(lambda: central_rows(net.db, "SELECT query_code, bundle_code FROM bundles WHERE case_id "
                                            "IN (?, ?)", (rows[0]["case_id"], rows[1]["case_id"])), 15, "bundle linked")
    assert sorted(r["query_code"] for r in links) == sorted(codes) and {r["bundle_code"] for r in links} == {"B01"}
    # 食品经营许可 is 网上预审: its case waits for the window, the other is accepted; one notice lists both.
    assert [c["stage"] for c in result["notice"]["cases"]] == ["accepted", "pre_review"]
    assert result["notice"]["title"] == "预审回执" and len(terminal.printer.printed[-1].qr_payloads()) == 2
    bundle = next(c for c in terminal.services.query.my_cases()["cases"] if c["query_code"] == codes[0])
    assert bundle["item_code"] == "511900-XK-0001"


def test_concurrent_commits_of_one_draft_make_one_case_at_central(net, terminal):
    terminal.card(XIANG)
    terminal.fill_draft(*ITEM)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(terminal.services.committer.commit()))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 6 and all(r == results[0] for r in results)
    code = results[0]["notice"]["query_code"]
    central_case(net, code)
    time.sleep(0.5)  # anything doubled would have arrived by now
    assert len(central_rows(net.db, "SELECT 1 FROM cases WHERE query_code = ?", (code,))) == 1
    assert terminal.engine.store.scalar("SELECT COUNT(*) FROM cases") == 1 and len(terminal.printer.printed) == 1


def test_reprint_records_survive_a_restart_encrypted(net, make_terminal):
    first = make_terminal("kiosk")
    first.card(ZHANG)
    first.fill_draft(*ITEM)
    first.printer.fail_next = "paper_out"
    result = first.services.committer.commit()
    assert result["printed"] is False and result["reprint"] is True and "已经提交成功" in result["print_message"]
    assert not any(word in json.dumps(result, ensure_ascii=False) for word in AGAIN)
    code = result["notice"]["query_code"]
    first.stop()
    assert b"\xe5\xbc\xa0" not in (first.data_dir / "services.db").read_bytes()  # no 张 in clear on disk
    again = make_terminal("kiosk")  # the same data dir and device key: a restarted terminal
    again.card(XIANG)
    with pytest.raises(ServiceError):
        again.services.committer.reprint(code)  # not the applicant
    again.card(ZHANG)
    assert again.services.committer.reprint(code)["printed"] is True
    assert code in again.printer.printed[-1].qr_payloads()[0]


def test_evaluation_five_levels_reasons_callback_and_one_per_service(net, make_terminal):
    a = make_terminal("a")
    a.card(ZHANG)
    a.fill_draft(*ITEM)
    code = a.services.committer.commit()["notice"]["query_code"]
    options = a.services.evaluation.options()
    assert [lv["name"] for lv in options["levels"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    with pytest.raises(ServiceError) as info:
        a.services.evaluation.evaluate("case", code, 1, [])
    assert info.value.code == "reason_needed"
    done = a.services.evaluation.evaluate("case", code, 1, ["wait_long"], "等太久", callback=True, phone="13800000002")
    assert done["ok"] and done["callback_phone"] == "138****0002"
    row = wait_until(lambda: central_rows(net.db, "SELECT * FROM evaluations WHERE service_ref = ?", (code,)), 15,
                     "the evaluation at central")[0]
    assert (row["level"], json.loads(row["reasons"]), row["callback_phone"]) == (1, ["wait_long"], "13800000002")
    with pytest.raises(ServiceError) as info:  # once per service on this terminal…
        a.services.evaluation.evaluate("case", code, 5, [])
    assert info.value.code in ("already_evaluated", "not_offered")
    b = make_terminal("b", device="KSK-511902-0008")  # …and at central, whatever terminal sends it
    b.ctx.sessions.activity("touch")
    offer(b.ctx.sessions.current, "case", code, "企业设立登记")
    assert b.services.evaluation.evaluate("case", code, 5, [])["ok"]
    refused = wait_until(lambda: central_rows(net.db, "SELECT detail FROM messages WHERE device = ? AND kind = "
                                              "'event' AND result = 'rejected'", ("KSK-511902-0008",)), 15,
                         "the second evaluation refused")
    assert "already_evaluated" in refused[0]["detail"]
    assert len(central_rows(net.db, "SELECT 1 FROM evaluations WHERE service_ref = ?", (code,))) == 1


def test_urge_and_complaint_get_a_receipt_number_and_a_slip(net, terminal):
    terminal.card(ZHANG)
    terminal.fill_draft(*ITEM)
    code = terminal.services.committer.commit()["notice"]["query_code"]
    case = next(c for c in terminal.services.query.my_cases()["cases"] if c["query_code"] == code)
    assert case["actions"]["urge"] and case["actions"]["complain"]
    urged = terminal.services.casework.file(code, "urge", "progress")
    assert urged["receipt_no"].startswith("CB") and urged["hotline"] == "12345" and urged["printed"]
    slip = terminal.printer.printed[-1].texts()
    assert slip[0] == "催办回执" and f"回执编号 {urged['receipt_no']}" in slip and "投诉电话 12345" in slip
    assert terminal.services.casework.print_slip(urged["receipt_no"]) == {"printed": True}  # 打印回执 again
    assert terminal.printer.printed[-1].texts() == slip
    with pytest.raises(ServiceError) as info:  # only a slip filed in this session
        terminal.services.casework.print_slip("CB0000")
    assert info.value.code == "not_found"
    complained = terminal.services.casework.file(code, "complaint", "attitude", "窗口人员态度差")
    assert complained["receipt_no"].startswith("TS")
    rows = central_rows(net.db, "SELECT kind, category FROM complaints WHERE receipt_no IN (?, ?)",
                        (urged["receipt_no"], complained["receipt_no"]))
    assert sorted((r["kind"], r["category"]) for r in rows) == [("complaint", "attitude"), ("urge", "progress")]
    terminal.card(XIANG)  # another person's card: not their case
    with pytest.raises(ServiceError):  # nor the previous card holder's slips
        terminal.services.casework.print_slip(urged["receipt_no"])
    with pytest.raises(ServiceError) as info:
        terminal.services.casework.file(code, "urge", "progress")
    assert info.value.code == "mismatch"


def test_withdraw_only_before_acceptance(net, terminal):
    terminal.card(ZHANG)
    terminal.fill_draft(*ITEM, paper=("M03",))
    received = terminal.services.committer.commit()["notice"]["query_code"]
    terminal.fill_draft(*ITEM)
    accepted = terminal.services.committer.commit()["notice"]["query_code"]
    central_case(net, accepted)
    refused = terminal.services.casework.withdraw(accepted)
    assert refused["result"] == "not_allowed" and "已经受理" in refused["message"]
    done = terminal.services.casework.withdraw(received, "暂不办理")
    assert done["result"] == "withdrawn" and central_case(net, received)["status"] == "withdrawn"


def test_correction_asked_by_central_is_captured_and_accepted(net, terminal):
    terminal.card(ZHANG)
    terminal.fill_draft(*ITEM)
    code = terminal.services.committer.commit()["notice"]["query_code"]
    central_case(net, code)
    net.command(f"correction {code} M03 请补充清晰的经营场所使用证明")
    case = wait_until(lambda: next((c for c in terminal.services.query.my_cases()["cases"]
                                    if c["query_code"] == code and c["status"] == "correction_needed"), None), 15,
                      "the case awaiting a correction")
    assert case["actions"]["correct"] and case["corrections"][0]["code"] == "M03"
    opened = terminal.services.correction.start(code)
    assert [m["code"] for m in opened["materials"]] == ["M03"]
    with pytest.raises(ServiceError):
        terminal.services.correction.commit()  # nothing captured yet
    terminal.services.correction.capture("M03")
    result = terminal.services.correction.commit()
    assert result["status"] == "accepted" and terminal.services.correction.commit() == result
    assert central_case(net, code)["status"] == "accepted"
    answered = central_rows(net.db, "SELECT correction_id FROM corrections WHERE code = 'M03' AND case_id = ?",
                            (central_case(net, code)["case_id"],))
    assert answered[0]["correction_id"] == opened["correction_id"]


def test_agent_green_channel_only_when_registered_and_ticket_issued(net, terminal):
    assert terminal.services.queue.options()["green"]["offered"] is False
    with pytest.raises(ServiceError) as info:
        terminal.services.queue.take("ECO", green=True, cases=3)
    assert info.value.code == "green_not_registered"
    terminal.agent(OUYANG, "0031", "123456")  # a village agent, not registered for it
    assert terminal.services.queue.options()["green"]["offered"] is False
    terminal.ctx.sessions.end()
    login = terminal.agent(ZHAO, "0058", "654321")
    assert login["agent"]["green_channel"] is True
    assert terminal.services.queue.options() == {"green": {"offered": True, "max_cases": 5}}
    with pytest.raises(ServiceError) as info:
        terminal.services.queue.take("ECO", green=True, cases=6)
    assert info.value.code == "green_cases"
    ticket = terminal.services.queue.take("ECO", green=True, cases=3)
    number = ticket["ticket"]["number"]
    assert number.startswith("V") and ticket["printed"] and ticket["evaluation"]["kind"] == "ticket"
    issued = wait_until(lambda: [e for e in (json.loads(r["payload"]) for r in central_rows(
        net.db, "SELECT payload FROM events WHERE type = 'ticket.issued'")) if e["number"] == number], 15,
        "ticket.issued at central")
    assert issued[0]["agent_id"] == "AG-0058" and issued[0]["priority"] == "green"


def test_village_cases_come_from_central_for_all_agents_and_terminals(net, make_terminal):
    hall = make_terminal("hall")
    other = make_terminal("other", device="KSK-511902-0009")
    other.agent(ZHOU, "0032", "112233")  # another agent of 江北街道示例村, on another terminal
    other.card(XIANG)
    other.fill_draft(*VILLAGE_ITEM, pickup="village_point", point="511902-V-0001")
    other.services.submit.ask_resident_consent()
    other.remove_card()
    other.card(XIANG)  # the resident puts the card back and consents by their own tap
    other.services.submit.details(consent=True)
    theirs = other.services.committer.commit()["notice"]["query_code"]
    hall.agent(OUYANG, "0031", "123456")
    village = hall.services.agent.village_cases()
    assert village["source"] == "central" and "511902-V-0001" in village["village_points"]
    assert ("511902-V-0001", "江北街道示例村便民服务点") in {(p["code"], p["name"]) for p in village["points"]}
    listed = {c["query_code"]: c for c in village["cases"]}
    assert theirs in listed and listed[theirs]["agent_id"] == "AG-0032"
    assert "13800000000" not in json.dumps(village, ensure_ascii=False)
    urged = hall.services.casework.file(theirs, "urge", "progress")  # an agent for their village's resident
    assert urged["receipt_no"].startswith("CB")


def test_agent_day_token_survives_a_restart_offline(net, make_terminal, tmp_path):
    online = make_terminal("agent")
    online.agent(OUYANG, "0031", "123456")
    online.stop()
    offline = make_terminal("agent", broker_url="mqtt://127.0.0.1:9", online=False)  # same data dir, no broker
    offline.card(OUYANG)
    assert offline.services.agent.login("0031", "123456")["agent"]["offline"] is True
    offline.ctx.sessions.end()
    offline.card(OUYANG)
    with pytest.raises(ServiceError):
        offline.services.agent.login("0031", "000000")
    assert open_records(None, None).agent_login("x") is None


def test_central_never_logged_a_reply_that_breaks_the_addendum_nor_a_handler_fault(net):
    # Runs last in this module: every reply central sent above was checked against its own addendum reading.
    log = "".join(net.central.stderr_lines)
    assert "breaks the addendum" not in log and "handler failed" not in log and "Traceback" not in log
