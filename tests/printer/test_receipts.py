"""Receipt layouts from the typed values the services build: the notice in its three stages (受理通知书 /
预审回执 / 待平台确认) and as a 一件事一次办 notice, the checklist slip with the catalog's facts, the queue ticket
and the 催办/投诉 receipt — each printed through the ESC/POS encoder into the printer simulator's
interpreter, which decodes text and QR codes (the picture of a raster QR is decoded with pyzbar)."""
from __future__ import annotations

import dataclasses
import tempfile

import pytest
from PIL import Image as PILImage
from pyzbar.pyzbar import decode

from drivers.printer import EPSON_ASB, GENERIC_58, GENERIC_80, QR, Align, Cut, Text, render
from edge_sync.querycode import format_query_code, mint_query_code, receipt_url
from kiosk.catalog import Catalog, Item, load_catalog
from kiosk.receipts import (
    OFFLINE_MARK,
    PICKUP_WITH_NOTICE,
    TEST_LINE,
    ComplaintData,
    TicketData,
    acceptance_notice,
    checklist_slip,
    complaint_slip,
    queue_ticket,
)
from kiosk.receipts import test_page as make_test_page
from kiosk.services import Settings
from kiosk.services.itemfacts import checklist
from kiosk.services.notice import Notice, NoticeStage
from simulators.hall.stack import sample_file
from simulators.printer.interpreter import Interpreter
from tests.support.notices import notice_case, sample_notice

CODE = mint_query_code()


def printed(doc, profile=GENERIC_80) -> dict:
    sim = Interpreter(dots=profile.dots)
    sim.feed(render(doc, profile))
    assert len(sim.completed) == 1
    job = sim.completed[0]
    assert job.roll is not None
    record = job.to_dict()
    record["lines"] = [" ".join(line.split()) for line in record["text"]]  # label and value, padding gone
    with tempfile.TemporaryDirectory() as folder:
        job.roll.png(f"{folder}/job.png")
        with PILImage.open(f"{folder}/job.png") as picture:
            record["decoded"] = [c.data.decode() for c in decode(picture)]
    return record


def test_acceptance_notice_holds_every_field_the_issue_lists():
    doc = acceptance_notice(sample_notice(CODE))
    lines = doc.texts()
    for line in ("受理通知书", "受理机关 示例市公安局", "受理编号 SL-2026-000123", "事项 居民身份证申领（换领、补领）",
                 "申请人 张*丰", "承诺办结 5个工作日（2026-12-01前）", "取件方式 窗口领取",
                 "取件地点 户政窗口 1楼 3-5号窗口", PICKUP_WITH_NOTICE, "请携带原件 居民户口簿", "投诉电话 12345",
                 format_query_code(CODE)):
        assert line in lines, line
    assert OFFLINE_MARK not in lines and "张三丰" not in repr(lines)
    assert doc.qr_payloads() == [receipt_url(CODE)] and isinstance(doc.elements[-1], Cut)


def test_pre_review_receipt_promises_no_date():
    lines = acceptance_notice(sample_notice(CODE, stage=NoticeStage.PRE_REVIEW)).texts()
    assert lines[0] == "预审回执" and "办件编号 SL-2026-000123" in lines
    assert "承诺办结 原件核验通过、受理后计算" in lines and not any("2026-12-01" in line for line in lines)
    assert PICKUP_WITH_NOTICE not in lines and any("核验通过后受理" in line for line in lines)


def test_pending_receipt_is_marked_and_has_no_case_number():
    lines = acceptance_notice(sample_notice(CODE, stage=NoticeStage.PENDING, submitted_at=None)).texts()
    assert OFFLINE_MARK in lines and "承诺办结 待平台确认" in lines and "提交时间 待平台确认" in lines
    assert not any(line.startswith(("受理编号", "办件编号")) for line in lines)


def test_bundle_notice_lists_every_case_with_its_own_code():
    codes = [mint_query_code(), mint_query_code()]
    notice = sample_notice(*codes, bundle="开办小餐馆一件事", agent="李四")
    doc = acceptance_notice(notice)
    assert "一件事 开办小餐馆一件事" in doc.texts() and "代办员 李*" in doc.texts()
    assert doc.qr_payloads() == [receipt_url(c) for c in codes]
    mixed = dataclasses.replace(notice, cases=(notice.cases[0], notice_case(codes[1], stage=NoticeStage.PRE_REVIEW)))
    assert mixed.title == "预审回执" and acceptance_notice(mixed).texts()[0] == "预审回执"


def test_the_archive_record_reads_back_the_same_value():
    notice = sample_notice(CODE, mint_query_code(), bundle="一件事", agent="李四")
    assert Notice.from_record(notice.to_record()) == notice
    with pytest.raises(ValueError):
        Notice.from_record({**notice.to_record(), "cases": [{"item_code": 1}]})


def test_invalid_query_code_is_refused():
    with pytest.raises(ValueError):
        acceptance_notice(sample_notice("NOT-A-CODE"))


@pytest.mark.parametrize("profile", [GENERIC_58, GENERIC_80, EPSON_ASB])
def test_notice_prints_with_masked_rare_name_and_a_decodable_qr(profile):
    record = printed(acceptance_notice(sample_notice(CODE, name="张𫖮")), profile)
    assert record["warnings"] == [] and record["cuts"]
    assert "受理通知书" in record["lines"] and "受理机关 示例市公安局" in record["lines"]
    assert any(line.startswith("申请人") and line.endswith("张*") for line in record["text"])
    assert receipt_url(CODE) in record["decoded"]


def _item(catalog: Catalog, code: str) -> Item:
    item = catalog.item(code)
    assert item is not None, code
    return item


def test_checklist_slip_prints_the_catalog_facts():
    catalog = load_catalog(sample_file("catalog-sample.json"))
    settings = Settings(site_id="511902-HALL-01", site_name="示例市政务服务中心")
    slip = checklist(catalog, _item(catalog, "511900-GG-0001"), None, settings)
    lines = checklist_slip(slip).texts()
    assert "一次性告知单" in lines and "办理对象 自然人" in lines and "办理地点 户政窗口 1楼 3-5号窗口" in lines
    assert "  居民身份证工本费（申领、换领）：20元" in lines and any("发改价格〔2003〕2322号" in line for line in lines)
    assert "设定依据：" in lines and "中介服务 无" in lines and "前置许可 无" in lines
    assert any("江北街道示例村便民服务点" in line for line in lines)  # a village item: the points
    instant = checklist(catalog, _item(catalog, "511900-QR-0002"), "S01", settings)  # 结婚登记: 0 days
    assert "承诺办结时限 即办" in checklist_slip(instant).texts()
    tractor = checklist_slip(checklist(catalog, _item(catalog, "511900-XK-0008"), "S01", settings)).texts()
    assert "中介服务 拖拉机和联合收割机安全技术检验（具备资质的检验机构）" in tractor or "中介服务：" in tractor
    record = printed(checklist_slip(slip), GENERIC_58)
    assert record["warnings"] == [] and "https://zwfw.example.gov.cn/item/511900-GG-0001" in record["decoded"]


def test_queue_ticket():
    doc = queue_ticket(TicketData(number="A023", category_name="社会事务", waiting=5, green=True, cases=3, floor=1,
                                  issued_at="2026-11-24 15:30", site_name="示例市政务服务中心"))
    assert Text("A023", align=Align.CENTER, bold=True, size=2) in doc.elements
    text = "\n".join(doc.texts())
    assert "绿色通道" in text and "3件" in text and "前面还有 5 人等候" in text
    assert "绿色通道" not in "\n".join(queue_ticket(TicketData(number="B1", category_name="x")).texts())


def test_complaint_slip():
    doc = complaint_slip(ComplaintData(kind="urge", receipt_no="CB2026113000001", query_code=CODE,
                                       item_name="企业设立登记", category="催促办理进度",
                                       received_at="2026-11-30T15:02:11+08:00", reply_within_days=2, hotline="12345"))
    lines = doc.texts()
    assert lines[0] == "催办回执" and "回执编号 CB2026113000001" in lines and "答复时限 2个工作日内" in lines
    assert f"查询码 {format_query_code(CODE)}" in lines and "投诉电话 12345" in lines
    assert printed(doc)["warnings"] == []


def test_test_page():
    doc = make_test_page()
    assert doc.texts()[0] == TEST_LINE and doc.texts()[1].isascii()
    assert any(isinstance(e, QR) for e in doc.elements) and isinstance(doc.elements[-1], Cut)
    record = printed(doc, GENERIC_58)
    assert record["text"][:2] == doc.texts()[:2] and record["cuts"]
