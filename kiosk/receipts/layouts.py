"""Receipt layouts as printer-independent documents: the notice of a submission (受理通知书 / 预审回执 /
待平台确认), the one-time checklist slip (一次性告知单), the queue ticket, the 催办/投诉 receipt and the test
page. Each takes the one typed value its service built."""
from __future__ import annotations

import functools

import segno
from PIL import Image as PILImage

from drivers.printer import QR, Align, Cut, Document, Element, Feed, QrLevel, Rule, Text
from edge_sync.querycode import format_query_code
from kiosk.receipts.data import ChecklistData, ComplaintData, FeeData, MaterialData, TicketData
from kiosk.services.notice import PENDING_MARK, STAGE_TITLES, Notice, NoticeCase, NoticeStage

PENDING = "待平台确认"
OFFLINE_MARK = PENDING_MARK
PICKUP_WITH_NOTICE = "凭本通知书和身份证领取"
PRE_REVIEW_HINT = "请带上本回执、身份证和上列原件到窗口核验，核验通过后受理并打印受理通知书"
TEST_LINE = "政务服务自助终端打印测试"
TEST_ASCII = "ESC/POS 0123456789 ABCxyz !#%&*+"
TEST_QR = "https://zwfw.example.gov.cn/printer-test"
QR_MODULE = 6  # dots: a version 3–4 code is then 25–30 mm wide, easy for phone cameras


def qr(payload: str, module: int = QR_MODULE, level: QrLevel = QrLevel.M) -> QR:
    """A QR element; its picture (segno) is drawn only if the printer has no native QR (GS ( k)."""
    return QR(payload, module=module, level=level, draw=functools.partial(qr_picture, payload, module, level))


def qr_picture(payload: str, module: int, level: QrLevel) -> PILImage.Image:
    """The 1-bit picture of a QR code, ``module`` dots a module, no quiet zone (the raster fallback)."""
    code = segno.make_qr(payload, error=level.name.lower(), boost_error=False)
    size = int(code.symbol_size(scale=1, border=0)[0])
    img = PILImage.new("1", (size, size), 1)
    img.putdata([0 if dark else 1 for row in code.matrix for dark in row])
    return img.resize((size * module, size * module), PILImage.Resampling.NEAREST)


def _pairs(rows: list[tuple[str, str | None]]) -> list[Text]:
    return [Text(label, value) for label, value in rows if value]


def _lines(title: str, values: tuple[str, ...]) -> list[Text]:
    """A titled list: one line when short, else numbered lines."""
    if not values:
        return []
    if len(values) == 1 and len(values[0]) <= 16:
        return [Text(title, values[0])]
    return [Text(f"{title}："), *(Text(f"  {n}. {v}") for n, v in enumerate(values, 1))]


def _notice_case(case: NoticeCase, several: bool) -> list[Element]:
    numbered = ("受理编号" if case.stage is NoticeStage.ACCEPTED else "办件编号", case.case_no)
    if case.stage is NoticeStage.ACCEPTED:
        promise = case.promised_text()
    elif case.stage is NoticeStage.PRE_REVIEW:
        promise = "原件核验通过、受理后计算"
    else:
        promise = PENDING
    out: list[Element] = [Rule()]
    if several:
        out.append(Text(STAGE_TITLES[case.stage], align=Align.CENTER, bold=True))
    out += _pairs([("事项", case.item_name), ("情形", case.situation_name), ("受理机关", case.authority), numbered,
                   ("承诺办结", promise), ("取件方式", case.pickup.label), ("取件地点", case.pickup.place)])
    out += _lines("请携带原件", case.originals)
    out += [Text("查询码", align=Align.CENTER), Text(case.query_code_display, align=Align.CENTER, bold=True),
            qr(case.url)]
    return out


def acceptance_notice(notice: Notice) -> Document:
    """The notice of a submission: 受理通知书 (accepted), 预审回执 (originals to check at a window first) or
    the receipt marked 已提交，待平台确认 (central not reached yet); per case the authority, case number,
    promised time in working days, pickup place, originals to bring, query code and its QR; the hotline.
    Raises ValueError when a query code is not valid."""
    stage = notice.stage
    head: list[Element] = [Text(notice.title, align=Align.CENTER, bold=True, size=2)]
    if notice.site_name:
        head.append(Text(notice.site_name, align=Align.CENTER))
    if stage is NoticeStage.PENDING:
        head.append(Text(OFFLINE_MARK, align=Align.CENTER, bold=True))
    head.append(Rule())
    head += _pairs([("一件事", notice.bundle_name), ("申请人", notice.applicant_masked),
                    ("代办员", notice.agent_masked), ("提交时间", notice.submitted_at or PENDING)])
    several = len(notice.cases) > 1
    body = [element for case in notice.cases for element in _notice_case(case, several)]
    tail: list[Element] = [Rule()]
    if stage is NoticeStage.ACCEPTED:
        tail.append(Text(PICKUP_WITH_NOTICE, align=Align.CENTER, bold=True))
    elif stage is NoticeStage.PRE_REVIEW:
        tail.append(Text(PRE_REVIEW_HINT, align=Align.CENTER))
    else:
        tail.append(Text("平台确认后生成办件编号，可凭查询码查询", align=Align.CENTER))
    tail.append(Text("扫码或在自助终端输入查询码查看办理进度", align=Align.CENTER))
    if notice.hotline:
        tail.append(Text("投诉电话", notice.hotline))
    tail += [Feed(1), Cut()]
    return Document(tuple(head + body + tail), title="acceptance_notice")


def _material_lines(index: int, material: MaterialData) -> list[Text]:
    form = f"{material.form} {material.copies}份" if material.copies else material.form
    flags = ["免提交"] if material.shareable else []
    if not material.required:
        flags.append("视情况提交")
    line = f"{index}. {material.name}（{form}）" + (f"【{'，'.join(flags)}】" if flags else "")
    out = [Text(line)]
    if material.note:
        out.append(Text("   " + material.note))
    return out


def _fee_text(fee: FeeData) -> str:
    return f"{fee.name}：{fee.amount_yuan:g}元" if fee.amount_yuan is not None else fee.name


def checklist_slip(slip: ChecklistData) -> Document:
    """The one-time checklist slip: per situation its conditions and materials (原件/复印件, copies,
    免提交), who may apply, time limits (0 days = 即办), fees with their basis, legal basis, 中介服务,
    前置许可, the place (the item's own window, or the village points), and a QR to the item page."""
    out: list[Element] = [Text("一次性告知单", align=Align.CENTER, bold=True, size=2),
                          Text(slip.item_name, align=Align.CENTER, bold=True)]
    if slip.department:
        out.append(Text(slip.department, align=Align.CENTER))
    out += _lines("办理对象", slip.targets)
    for situation in slip.situations:
        out += [Rule(), Text(f"情形：{situation.name}", bold=True)]
        if situation.conditions:
            out.append(Text(f"条件：{situation.conditions}"))
        out.append(Text("申请材料："))
        for index, material in enumerate(situation.materials, 1):
            out += _material_lines(index, material)
    out.append(Rule())
    out += _pairs([("法定办结时限", slip.statutory_text or None), ("承诺办结时限", slip.promised_text or None)])
    out.append(Text("收费", "不收费") if not slip.fees else Text("收费："))
    for fee in slip.fees:
        out.append(Text("  " + _fee_text(fee)))
    out += _lines("收费依据", tuple(dict.fromkeys((*slip.fee_basis, *(f.basis for f in slip.fees if f.basis)))))
    out += _lines("设定依据", slip.legal_basis)
    out += _lines("中介服务", slip.intermediaries) or [Text("中介服务", "无")]
    out += _lines("前置许可", slip.prerequisites) or [Text("前置许可", "无")]
    out += _pairs([("办理地点", slip.place), ("办理方式", slip.online_level or None)])
    out += _lines("村便民服务点可办", slip.village_points)
    if slip.url:
        out += [qr(slip.url), Text("扫码查看事项详情", align=Align.CENTER)]
    if slip.site_name:
        out.append(Text(slip.site_name, align=Align.CENTER))
    if slip.hotline:
        out.append(Text("咨询电话", slip.hotline))
    out += [Feed(1), Cut()]
    return Document(tuple(out), title="checklist_slip")


def queue_ticket(ticket: TicketData) -> Document:
    """The queue ticket: number (large), category, people waiting, green channel (绿色通道) flag."""
    out: list[Element] = []
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


def complaint_slip(data: ComplaintData) -> Document:
    """The receipt of a 催办 or 投诉: central's receipt number, the case, when an answer is due, the hotline."""
    out: list[Element] = [Text(data.title, align=Align.CENTER, bold=True, size=2)]
    if data.site_name:
        out.append(Text(data.site_name, align=Align.CENTER))
    out += [Rule(), Text("回执编号", data.receipt_no), Text("办件", data.item_name),
            Text("查询码", format_query_code(data.query_code)), Text("类别", data.category),
            Text("受理时间", data.received_at)]
    if data.reply_within_days is not None:
        out.append(Text("答复时限", f"{data.reply_within_days}个工作日内"))
    out += [Rule(), Text("请保存本回执，可凭回执编号拨打热线查询办理情况", align=Align.CENTER),
            Text("投诉电话", data.hotline), Feed(1), Cut()]
    return Document(tuple(out), title="complaint_slip")


def test_page(note: str | None = None) -> Document:
    """The technician's test page: the Hanzi line, an ASCII line, a QR and a cut."""
    out: list[Element] = [Text(TEST_LINE, align=Align.CENTER, bold=True), Text(TEST_ASCII)]
    if note:
        out.append(Text(note))
    out += [qr(TEST_QR), Feed(1), Cut()]
    return Document(tuple(out), title="test_page")
