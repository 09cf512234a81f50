"""Receipt layouts as printer-independent documents: the acceptance notice (受理通知书, online and
offline variants), the one-time checklist slip (一次性告知单), the queue ticket and the test page."""
from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import segno
from PIL import Image as PILImage

from drivers.printer import QR, Align, Cut, Document, Feed, QrLevel, Rule, Text
from drivers.scanner.receipt_code import format_query_code, receipt_url
from kiosk.receipts.data import ChecklistData, NoticeData, TicketData, as_data

PENDING = "待平台确认"
OFFLINE_MARK = "已提交，待平台确认"
TEST_LINE = "政务服务自助终端打印测试"
TEST_ASCII = "ESC/POS 0123456789 ABCxyz !#%&*+"
TEST_QR = "https://zwfw.example.gov.cn/printer-test"
QR_MODULE = 6  # dots: a version 3–4 code is then 25–30 mm wide, easy for phone cameras


def qr(payload: str, module: int = QR_MODULE, level: QrLevel = QrLevel.M) -> QR:
    """A QR element carrying a pre-rendered picture (segno) for printers without native QR."""
    code = segno.make_qr(payload, error=level.name.lower(), boost_error=False)
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=module, border=0)
    buf.seek(0)
    return QR(payload, module=module, level=level, image=PILImage.open(buf).convert("1"))


def _window_text(window: str | Mapping[str, Any] | None) -> str | None:
    """The catalog's window dict {name, floor, windows} as 「经济发展区 2楼 13–24号窗口」."""
    if window is None or isinstance(window, str):
        return window or None
    parts = [str(window.get("name") or "")]
    if window.get("floor"):
        parts.append(f"{window['floor']}楼")
    if window.get("windows"):
        parts.append(f"{window['windows']}号窗口")
    return " ".join(p for p in parts if p) or None


def _pairs(rows: list[tuple[str, str | None]]) -> list[Text]:
    return [Text(label, value) for label, value in rows if value]


def acceptance_notice(data: NoticeData | Mapping[str, Any]) -> Document:
    """The acceptance notice: item, masked applicant, query code as text and QR of the receipt URL,
    times, pickup, hotline. Raises ValueError when the query code is not valid."""
    notice = as_data(NoticeData, data)
    code_text, url = format_query_code(notice.query_code), receipt_url(notice.query_code)
    head: list = [Text("受理通知书", align=Align.CENTER, bold=True, size=2)]
    if notice.site_name:
        head.append(Text(notice.site_name, align=Align.CENTER))
    if not notice.online:
        head.append(Text(OFFLINE_MARK, align=Align.CENTER, bold=True))
    rows = _pairs([
        ("受理编号", notice.case_no if notice.online else None),
        ("事项", notice.item_name),
        ("情形", notice.situation_name),
        ("申请人", notice.applicant_masked),
        ("证件号码", notice.id_number_masked),
        ("代办员", notice.agent_name),
        ("提交时间", notice.submitted_at or PENDING),
        ("承诺办结", notice.promised_by if notice.online and notice.promised_by else PENDING),
        ("取件方式", notice.pickup),
        ("办理地点", _window_text(notice.window)),
    ])
    tail: list = [
        Rule(),
        Text("查询码", align=Align.CENTER),
        Text(code_text, align=Align.CENTER, bold=True),
        qr(url),
        Text("扫码或在自助终端输入查询码查看办理进度", align=Align.CENTER),
    ]
    if not notice.online:
        tail.append(Text("平台确认后将生成受理编号，可凭查询码查询", align=Align.CENTER))
    if notice.hotline:
        tail.append(Text("咨询电话", notice.hotline))
    tail += [Feed(1), Cut()]
    return Document(tuple(head + [Rule()] + rows + tail), title="acceptance_notice")


def _material_lines(index: int, material) -> list[Text]:
    form = f"{material.form} {material.copies}份" if material.copies else material.form
    flags = ["免提交"] if material.shareable else []
    if not material.required:
        flags.append("视情况提交")
    line = f"{index}. {material.name}（{form}）" + (f"【{'，'.join(flags)}】" if flags else "")
    out = [Text(line)]
    if material.note:
        out.append(Text("   " + material.note))
    return out


def _fee_text(fee: Mapping[str, Any]) -> str:
    amount = fee.get("amount_yuan")
    return f"{fee.get('name', '')}：{amount}元" if amount is not None else str(fee.get("name", ""))


def checklist_slip(data: ChecklistData | Mapping[str, Any]) -> Document:
    """The one-time checklist slip: per situation its conditions and materials (原件/复印件, copies,
    免提交), time limits, fees, window, and a QR to the item page."""
    slip = as_data(ChecklistData, data)
    out: list = [Text("一次性告知单", align=Align.CENTER, bold=True, size=2),
                 Text(slip.item_name, align=Align.CENTER, bold=True)]
    if slip.department:
        out.append(Text(slip.department, align=Align.CENTER))
    for situation in slip.situations:
        out += [Rule(), Text(f"情形：{situation.name}", bold=True)]
        if situation.conditions:
            out.append(Text(f"条件：{situation.conditions}"))
        out.append(Text("申请材料："))
        for index, material in enumerate(situation.materials, 1):
            out += _material_lines(index, material)
    out.append(Rule())
    if slip.statutory_days is not None:
        out.append(Text("法定办结时限", f"{slip.statutory_days}个工作日"))
    if slip.promised_days is not None:
        out.append(Text("承诺办结时限", f"{slip.promised_days}个工作日"))
    out.append(Text("收费", "不收费") if not slip.fees else Text("收费："))
    out += [Text("  " + _fee_text(fee)) for fee in slip.fees]
    out += _pairs([("办理地点", _window_text(slip.window)), ("办理方式", slip.online_level or None)])
    if slip.url:
        out += [qr(slip.url), Text("扫码查看事项详情", align=Align.CENTER)]
    if slip.site_name:
        out.append(Text(slip.site_name, align=Align.CENTER))
    if slip.hotline:
        out.append(Text("咨询电话", slip.hotline))
    out += [Feed(1), Cut()]
    return Document(tuple(out), title="checklist_slip")


def queue_ticket(data: TicketData | Mapping[str, Any]) -> Document:
    """The queue ticket: number (large), category, people waiting, green channel (绿色通道) flag."""
    ticket = as_data(TicketData, data)
    out: list = []
    if ticket.site_name:
        out.append(Text(ticket.site_name, align=Align.CENTER))
    out += [Text(ticket.category_name, align=Align.CENTER, bold=True),
            Text(ticket.number, align=Align.CENTER, bold=True, size=2)]
    if ticket.green:
        out.append(Text(f"绿色通道 · 一号多件（{ticket.cases}件）" if ticket.cases > 1 else "绿色通道",
                        align=Align.CENTER, bold=True))
    if ticket.waiting is not None:
        out.append(Text(f"前面还有 {ticket.waiting} 人等候", align=Align.CENTER))
    where = f"{ticket.floor}楼" if ticket.floor else ""
    where += ticket.window_hint or "窗口"
    out.append(Text(f"请到{where}附近等候叫号", align=Align.CENTER))
    if ticket.issued_at:
        out.append(Text(ticket.issued_at, align=Align.CENTER))
    out += [Text("过号请重新取号", align=Align.CENTER), Feed(1), Cut()]
    return Document(tuple(out), title="queue_ticket")


def test_page(note: str | None = None) -> Document:
    """The technician's test page: the Hanzi line, an ASCII line, a QR and a cut."""
    out: list = [Text(TEST_LINE, align=Align.CENTER, bold=True), Text(TEST_ASCII)]
    if note:
        out.append(Text(note))
    out += [qr(TEST_QR), Feed(1), Cut()]
    return Document(tuple(out), title="test_page")
