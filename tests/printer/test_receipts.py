"""Receipt layouts: content, masking, offline variant, and what they render to on each profile."""
from __future__ import annotations

import json

import pytest

from drivers.printer import EPSON_ASB, GENERIC_58, GENERIC_80, QR, Cut, Text, render
from drivers.scanner.receipt_code import format_query_code, mint_query_code, receipt_url
from kiosk.receipts import (
    OFFLINE_MARK,
    PENDING,
    TEST_LINE,
    ChecklistData,
    NoticeData,
    acceptance_notice,
    checklist_slip,
    queue_ticket,
)
from kiosk.receipts import test_page as make_test_page
from simulators.printer.interpreter import Interpreter

CODE = mint_query_code()


def base_notice(**changes) -> NoticeData:
    values = dict(item_name="企业设立登记", applicant="张三丰", id_number="51190019900101123X", query_code=CODE,
                  case_no="SL-2026-000123", submitted_at="2026-11-24 15:30", promised_by="2026-11-26",
                  pickup="窗口领取", hotline="0817-12345", site_name="示例市政务服务中心")
    values.update(changes)
    return NoticeData(**values)


def printed(doc, profile=GENERIC_80) -> dict:
    sim = Interpreter(dots=profile.dots)
    sim.feed(render(doc, profile))
    assert len(sim.completed) == 1
    return sim.completed[0].to_dict()


def test_online_notice_content_and_masking():
    doc = acceptance_notice(base_notice())
    text = "\n".join(doc.texts())
    assert "受理通知书" in text and "SL-2026-000123" in text and OFFLINE_MARK not in text
    assert "张*丰" in text and "5119**********123X" in text
    assert "张三丰" not in text and "51190019900101123X" not in text
    assert format_query_code(CODE) in doc.texts()
    assert doc.qr_payloads() == [receipt_url(CODE)]
    assert isinstance(doc.elements[-1], Cut)


def test_offline_notice_has_mark_and_no_case_number():
    doc = acceptance_notice(base_notice(online=False, promised_by=None))
    text = "\n".join(doc.texts())
    assert OFFLINE_MARK in text and "SL-2026-000123" not in text
    assert not any(line.startswith("受理编号") for line in doc.texts())
    assert f"承诺办结 {PENDING}" in doc.texts()
    assert doc.qr_payloads() == [receipt_url(CODE)]


def test_unknown_promised_date_says_pending():
    lines = acceptance_notice(base_notice(promised_by=None)).texts()
    assert "承诺办结 待平台确认" in lines


def test_notice_from_submit_service_dict():
    data = {"kind": "offline", "case_no": None, "item_name": "企业设立登记", "situation_name": "有限责任公司设立登记",
            "applicant_masked": "张*丰", "query_code": CODE, "query_code_display": format_query_code(CODE),
            "url": receipt_url(CODE), "submitted_at": None, "promised_by": None, "pickup": "窗口领取",
            "window": {"category": "ECO", "name": "经济发展", "floor": 2, "windows": "13–24"},
            "hotline": "12345", "site_name": "示例", "channel": "agent", "agent_name": "李*"}
    doc = acceptance_notice(data)
    lines = doc.texts()
    assert OFFLINE_MARK in lines and "代办员 李*" in lines and "办理地点 经济发展 2楼 13–24号窗口" in lines
    assert "提交时间 待平台确认" in lines


def test_invalid_query_code_is_refused():
    with pytest.raises(ValueError):
        acceptance_notice(base_notice(query_code="NOT-A-CODE"))


@pytest.mark.parametrize("profile", [GENERIC_58, GENERIC_80, EPSON_ASB])
def test_notice_prints_as_text_with_masked_rare_name(profile):
    record = printed(acceptance_notice(base_notice(applicant="张𫖮")), profile)
    assert record["warnings"] == [] and record["cuts"]
    assert "受理通知书" in record["text"]
    assert any(line.startswith("申请人") and line.endswith("张*") for line in record["text"])
    assert len(render(acceptance_notice(base_notice()), GENERIC_80)) <= 2048


def test_checklist_slip_from_catalog(catalog_file):
    catalog = json.loads(catalog_file.read_text("utf-8"))
    item = next(i for i in catalog["items"] if i["fees"])
    data = {"item_name": item["name"], "department": "示例市公安局", "situations": item["situations"],
            "statutory_days": item["statutory_days"], "promised_days": item["promised_days"],
            "fees": item["fees"], "window": {"name": "社会事务", "floor": 1, "windows": "1–12"},
            "online_level": item["online_level"], "url": "https://zwfw.example.gov.cn/item/" + item["code"]}
    doc = checklist_slip(data)
    text = "\n".join(doc.texts())
    assert "一次性告知单" in text and item["name"] in text
    first = item["situations"][0]["materials"][0]
    assert f"1. {first['name']}（{first['form']} {first['copies']}份）" in text
    assert "免提交" in text and "20元" in text and f"{item['promised_days']}个工作日" in text
    assert doc.qr_payloads() == [data["url"]]
    assert checklist_slip(ChecklistData.from_mapping(data)) == doc
    for profile in (GENERIC_58, GENERIC_80):
        assert printed(doc, profile)["warnings"] == []


def test_queue_ticket():
    doc = queue_ticket({"number": "A023", "category_name": "社会事务", "waiting": 5, "green": True, "cases": 3,
                        "floor": 1, "issued_at": "2026-11-24 15:30", "site_name": "示例市政务服务中心"})
    assert Text("A023", align=1, bold=True, size=2) in doc.elements
    text = "\n".join(doc.texts())
    assert "绿色通道" in text and "3件" in text and "前面还有 5 人等候" in text
    assert "绿色通道" not in "\n".join(queue_ticket({"number": "B1", "category_name": "x"}).texts())


def test_test_page():
    doc = make_test_page()
    assert doc.texts()[0] == TEST_LINE and doc.texts()[1].isascii()
    assert any(isinstance(e, QR) for e in doc.elements) and isinstance(doc.elements[-1], Cut)
    record = printed(doc, GENERIC_58)
    assert record["text"][:2] == doc.texts()[:2] and record["cuts"]
