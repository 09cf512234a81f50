"""Submission (网上申报) by a citizen or by a village agent for a resident: item → situation → materials
(免提交 / scanned with the document camera / original at the window) → phone → pickup → consent →
durable commit through edge_sync → acceptance notice (受理通知书) after central's ack or the offline variant."""
from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from drivers.masking import mask_name, mask_phone
from drivers.scanner.receipt_code import format_query_code, mint_query_code, parse_receipt_code, receipt_url
from kiosk.catalog.model import PICKUP_LABELS
from kiosk.ports import CaptureRejected, PrintFailed, Reply, StorageFull
from kiosk.services import Context, ServiceError, actor_of, applicant_of, require_card, require_session
from kiosk.services.consult import print_message
from kiosk.services.gate import CommitGate
from kiosk.session import Role, Session, wipe_container

log = logging.getLogger(__name__)

DRAFT = "card:draft"  # a "card:" key: dropped when the card holder changes or leaves (citizen mode)
PHONE = re.compile(r"1[3-9][0-9]{9}")
CHOICES = ("shared", "scan", "paper")
MAX_PAGES = 20
# Keyed by the camera driver's reject codes; other codes carry the driver's own villager message.
CAPTURE_MESSAGES = {
    "blank_page": "没有拍到内容，请把材料正面朝上放平在高拍仪下，再拍一次。",
    "blurred_page": "照片不清楚，请把材料放平、不要移动，再拍一次。",
    "page_not_found": "没有找到完整的纸张，请把整张材料放在拍摄区域内，再拍一次。",
}


def page_id(page: Any) -> str:
    """A short fingerprint of a captured page: the page's picture URL changes when 重拍 replaces it."""
    return hashlib.sha256(page.jpeg).hexdigest()[:12]


def originals_to_bring(materials: Any, chosen: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials to bring to the window: those the person chose to bring as paper, and the originals
    (原件) of scanned ones, which the window checks against the scan."""
    bring = []
    for m in materials:
        choice = chosen.get(m.code, {}).get("choice")
        if choice == "paper" or (choice == "scan" and "原件" in m.form):
            bring.append({"code": m.code, "name": m.name, "form": m.form, "copies": m.copies,
                          "why": "paper" if choice == "paper" else "check"})
    return bring


class NoticeArchive:
    """Notices of this run, for reprinting (only with the applicant's card or the submitting agent).
    Holds masked data only; the card holder is remembered as a keyed hash, never the number."""

    def __init__(self, size: int = 200) -> None:
        self._secret = secrets.token_bytes(32)
        self._size = size
        self._notices: OrderedDict[str, tuple[str, str | None, dict[str, Any]]] = OrderedDict()

    def holder_key(self, id_number: str) -> str:
        return hmac.new(self._secret, id_number.encode(), hashlib.sha256).hexdigest()

    def keep(self, query_code: str, id_number: str, agent_id: str | None, data: dict[str, Any]) -> None:
        self._notices[query_code] = (self.holder_key(id_number), agent_id, data)
        while len(self._notices) > self._size:
            self._notices.popitem(last=False)

    def for_holder(self, session: Session) -> list[dict[str, Any]]:
        """The notices of the session's card holder, newest first (masked data only)."""
        if session.card is None:
            return []
        key = self.holder_key(session.card.id_number)
        return [data for holder, _, data in reversed(self._notices.values()) if hmac.compare_digest(holder, key)]

    def find(self, query_code: str, session: Session) -> dict[str, Any] | None:
        entry = self._notices.get(query_code)
        if entry is None:
            return None
        key, agent_id, data = entry
        if session.card is not None and hmac.compare_digest(key, self.holder_key(session.card.id_number)):
            return data
        if session.role is Role.AGENT and session.agent is not None and session.agent.agent_id == agent_id:
            return data
        return None


class SubmitService:
    def __init__(self, ctx: Context, mint: Callable[[], str] = mint_query_code,
                 on_committed: Callable[[dict[str, Any], str], None] | None = None) -> None:
        """``on_committed(notice_data, agent_id)`` is called after an agent's case is committed."""
        self.ctx = ctx
        self.mint = mint
        self.on_committed = on_committed
        self.notices = NoticeArchive()
        self.gate = CommitGate()  # closed by a reboot command: never restart in the middle of a commit
        # A draft outlives the card's removal until the person answers the page's question.
        ctx.sessions.keep_on_card_removal(lambda session: DRAFT in session.flow)

    # Draft ----------------------------------------------------------------------------------------
    def _draft(self) -> tuple[Session, dict[str, Any]]:
        session = require_card(self.ctx)
        draft = session.flow.get(DRAFT)
        if not draft:
            raise ServiceError("no_draft", "请先选择要办理的事项。", 409)
        if draft["holder"] != session.card.id_number:
            raise ServiceError("no_draft", "身份证已更换，请重新选择要办理的事项。", 409)
        return session, draft

    def start(self, item_code: str, situation_code: str) -> dict[str, Any]:
        """Begin a submission for the card holder (citizen) or for the resident whose card an agent read.
        Raises ServiceError: paused (printer), no card, item not allowed here."""
        block = self.ctx.devices.notice_block()
        if block:
            raise ServiceError("paused", block, 503)
        session = require_card(self.ctx)
        catalog = self.ctx.catalog()
        item = catalog.item(item_code)
        situation = item.situation(situation_code) if item else None
        if item is None or situation is None:
            raise ServiceError("not_found", "没有找到这个事项或情形，请重新选择。", 404)
        if session.role is Role.AGENT:
            channel = "agent"
            if not item.agent_allowed:
                raise ServiceError("not_allowed", "这个事项不能代办，请告诉群众本人到窗口办理。", 409)
        else:
            channel = "self"
            if not (item.self_service and self.ctx.settings.self_service):
                raise ServiceError("not_allowed", "这个事项不能在自助终端提交，请到窗口办理。", 409)
        shared = self._platform_holds(session, item.code, situation.code)
        materials = {}
        for m in situation.materials:
            held = m.code in shared if shared is not None else m.shareable
            materials[m.code] = {"choice": "shared" if held else None, "held": held, "pages": []}
        session.flow[DRAFT] = {"item": item.code, "situation": situation.code, "catalog": catalog.version,
                               "channel": channel, "holder": session.card.id_number, "materials": materials,
                               "phone": "", "pickup": None, "consent_at": None}
        return self.view()

    def _platform_holds(self, session: Session, item: str, situation: str) -> set[str] | None:
        """Material codes the platform already holds for this applicant (免提交), or None if unknown."""
        if self.ctx.sync is None:
            return None
        reply = self.ctx.sync.request("materials.shared", {"applicant": applicant_of(session.card), "item": item,
                                                           "situation": situation},
                                      timeout=min(2.0, self.ctx.settings.request_timeout_s))
        if isinstance(reply, Reply):
            codes = reply.fields.get("materials", reply.fields.get("codes", []))
            return {str(c) for c in codes if isinstance(c, str)}
        return None

    def view(self) -> dict[str, Any]:
        """The draft as the page shows it (no identity beyond the masked name)."""
        session, draft = self._draft()
        item = self.ctx.catalog().item(draft["item"])
        situation = item.situation(draft["situation"])
        materials = []
        for m in situation.materials:
            state = draft["materials"][m.code]
            materials.append({**m.to_dict(), "choice": state["choice"], "held": state["held"],
                              "pages": len(state["pages"]), "page_ids": [page_id(p) for p in state["pages"]]})
        return {"item": {"code": item.code, "name": item.name}, "situation": {"code": situation.code,
                "name": situation.name}, "channel": draft["channel"], "materials": materials,
                "applicant": mask_name(session.card.name),
                "phone": mask_phone(draft["phone"]) if draft["phone"] else "",
                "pickup": draft["pickup"], "consent": draft["consent_at"] is not None,
                "pickup_methods": [{"method": p, "label": PICKUP_LABELS.get(p, p)} for p in item.pickup_methods],
                "camera": self.ctx.devices.camera is not None}

    def choose(self, material: str, choice: str) -> dict[str, Any]:
        _, draft = self._draft()
        state = draft["materials"].get(material)
        if state is None or choice not in CHOICES:
            raise ServiceError("bad_request", "请重新选择材料的提交方式。", 400)
        if choice == "shared" and not state["held"]:
            raise ServiceError("not_held", "平台没有这份材料，请拍照上传或带原件到窗口。", 409)
        if choice == "scan" and self.ctx.devices.camera is None:
            raise ServiceError("no_camera", "高拍仪暂时不能使用，请选择带原件到窗口。", 503)
        state["choice"] = choice
        if choice != "scan":
            state["pages"].clear()
        return self.view()

    def capture(self, material: str) -> dict[str, Any]:
        """Photograph one page of a material with the document camera. Raises ServiceError with what to do."""
        _, draft = self._draft()
        state = draft["materials"].get(material)
        camera = self.ctx.devices.camera
        if state is None:
            raise ServiceError("bad_request", "请重新选择材料。", 400)
        if camera is None:
            raise ServiceError("no_camera", "高拍仪暂时不能使用，请选择带原件到窗口。", 503)
        if len(state["pages"]) >= MAX_PAGES:
            raise ServiceError("too_many", f"一份材料最多拍 {MAX_PAGES} 页。", 409)
        try:
            page = camera.capture_page()
        except CaptureRejected as exc:
            message = CAPTURE_MESSAGES.get(exc.reason) or exc.user_message or "拍照没有成功，请再试一次。"
            raise ServiceError("capture_" + exc.reason, message, 422) from None
        state["choice"] = "scan"
        state["pages"].append(page)
        return {"page": len(state["pages"]) - 1, **self.view()}

    def page_jpeg(self, material: str, index: int) -> bytes:
        _, draft = self._draft()
        pages = draft["materials"].get(material, {}).get("pages", [])
        if not 0 <= index < len(pages):
            raise ServiceError("not_found", "没有这一页。", 404)
        return pages[index].jpeg

    def retake(self, material: str, index: int) -> dict[str, Any]:
        """Drop one page (the villager then captures it again)."""
        _, draft = self._draft()
        pages = draft["materials"].get(material, {}).get("pages", [])
        if 0 <= index < len(pages):
            del pages[index]
        return self.view()

    def _pages(self, material: str, index: int) -> list[Any]:
        _, draft = self._draft()
        pages: list[Any] = draft["materials"].get(material, {}).get("pages", [])
        if not 0 <= index < len(pages):
            raise ServiceError("not_found", "没有这一页，请重新选择。", 404)
        return pages

    def replace_page(self, material: str, index: int) -> dict[str, Any]:
        """重拍: photograph page ``index`` again and put the new picture in its place; a rejected capture
        keeps the old page. Raises ServiceError with what to do."""
        pages = self._pages(material, index)
        camera = self.ctx.devices.camera
        if camera is None:
            raise ServiceError("no_camera", "高拍仪暂时不能使用，请选择带原件到窗口。", 503)
        try:
            page = camera.capture_page()
        except CaptureRejected as exc:
            message = CAPTURE_MESSAGES.get(exc.reason) or exc.user_message or "拍照没有成功，请再试一次。"
            raise ServiceError("capture_" + exc.reason, message, 422) from None
        pages[index] = page
        return {"page": index, **self.view()}

    def delete_page(self, material: str, index: int) -> dict[str, Any]:
        del self._pages(material, index)[index]
        return self.view()

    def move_page(self, material: str, index: int, to: int) -> dict[str, Any]:
        """Put page ``index`` at position ``to`` (the others keep their order)."""
        pages = self._pages(material, index)
        if not 0 <= to < len(pages):
            raise ServiceError("bad_request", "这一页不能再移动了。", 400)
        pages.insert(to, pages.pop(index))
        return self.view()

    def details(self, phone: str | None = None, pickup: str | None = None,
                consent: bool | None = None) -> dict[str, Any]:
        _, draft = self._draft()
        if phone is not None:
            phone = re.sub(r"[\s-]", "", phone)
            if not PHONE.fullmatch(phone):
                raise ServiceError("bad_phone", "手机号码应为 11 位数字，请核对后重新输入。", 400)
            draft["phone"] = phone
        if pickup is not None:
            item = self.ctx.catalog().item(draft["item"])
            if pickup not in item.pickup_methods:
                raise ServiceError("bad_pickup", "请从列出的领取方式中选择一种。", 400)
            draft["pickup"] = pickup
        if consent is not None:
            now = self.ctx.wall_clock()
            draft["consent_at"] = now.isoformat(timespec="seconds") if consent else None
        return self.view()

    def cancel(self) -> None:
        session = require_session(self.ctx)
        wipe_container(session.flow.pop(DRAFT, None))

    # Commit ---------------------------------------------------------------------------------------
    def _check_complete(self, draft: dict[str, Any]) -> None:
        item = self.ctx.catalog().item(draft["item"])
        for m in item.situation(draft["situation"]).materials:
            state = draft["materials"][m.code]
            if m.required and state["choice"] is None:
                raise ServiceError("incomplete", f"请为“{m.name}”选择提交方式。", 409)
            if state["choice"] == "scan" and not state["pages"]:
                raise ServiceError("incomplete", f"“{m.name}”还没有拍照。", 409)
        if not draft["phone"]:
            raise ServiceError("incomplete", "请填写联系电话。", 409)
        if not draft["pickup"]:
            raise ServiceError("incomplete", "请选择领取方式。", 409)
        if not draft["consent_at"]:
            raise ServiceError("incomplete", "请阅读并同意《个人信息使用告知》。", 409)

    def _blobs(self, draft: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
        camera = self.ctx.devices.camera
        materials: list[dict[str, Any]] = []
        blobs: dict[str, bytes] = {}
        for code, state in draft["materials"].items():
            choice = state["choice"]
            if choice is None:
                continue
            if choice == "scan":
                pdf = camera.to_pdf(list(state["pages"]))
                blob_id = f"b-{uuid.uuid4()}"
                blobs[blob_id] = pdf
                materials.append({"code": code, "source": "scan", "blob": {
                    "id": blob_id, "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf),
                    "pages": len(state["pages"]), "mime": "application/pdf"}})
            else:
                materials.append({"code": code, "source": choice})
        return materials, blobs

    def commit(self) -> dict[str, Any]:
        """Commit durably through edge_sync, wait briefly for central's ack, print the notice.
        Raises ServiceError before the commit (nothing submitted; also "paused" while a reboot is pending);
        after it the result says what happened."""
        with self.gate.commit():
            return self._commit()

    def _commit(self) -> dict[str, Any]:
        session, draft = self._draft()
        self._check_complete(draft)
        block = self.ctx.devices.notice_block()
        if block:
            raise ServiceError("paused", block, 503)
        sync = self.ctx.require_sync()
        catalog = self.ctx.catalog()
        item = catalog.item(draft["item"])
        now = self.ctx.wall_clock()
        query_code = self.mint()
        case_id = str(uuid.uuid4())
        materials, blobs = self._blobs(draft)
        bring = originals_to_bring(item.situation(draft["situation"]).materials, draft["materials"])
        card = session.card
        agent = session.agent if session.role is Role.AGENT else None
        fields = {
            "case_id": case_id, "query_code": query_code, "device": self.ctx.settings.device_id,
            "site": self.ctx.settings.site_id, "created_at": now.isoformat(timespec="seconds"),
            "item": {"code": item.code, "situation": draft["situation"], "catalog": draft["catalog"]},
            "channel": draft["channel"],
            "applicant": {"name": card.name, **applicant_of(card), "phone": draft["phone"]},
            "agent": {"agent_id": agent.agent_id, "name": agent.name} if agent else None,
            "materials": materials, "pickup": {"method": draft["pickup"], "detail": ""},
            "consent": {"version": self.ctx.settings.consent_version, "at": draft["consent_at"]}, "test": False,
        }
        try:
            # The engine gets its own copies: ours are wiped below, whatever it keeps.
            submitted = sync.submit_case(copy.deepcopy(fields), dict(blobs))
        except StorageFull:
            raise ServiceError("storage_full", "终端存储空间已满，暂停提交申请。请到人工窗口办理，咨询和查询可以继续使用。",
                               507) from None
        finally:
            blobs.clear()
        # From here on the case exists: the draft goes, whatever happens to the ack or the print.
        holder = card.id_number
        session.flow.pop(DRAFT, None)
        wipe_container(draft)
        log.info("case committed: channel=%s item=%s", fields["channel"], item.code)
        self.ctx.audit(actor_of(session), "case.submit", submitted.case_id)
        ack = sync.wait_case_ack(submitted.case_id, timeout=self.ctx.settings.ack_wait_s)
        if ack is not None and ack.result == "rejected":
            return {"status": "rejected", "query_code": query_code, "printed": False,
                    "message": "平台没有接受这件申请，请带上身份证到窗口咨询。"}
        online = ack is not None and ack.result in ("accepted", "duplicate")
        promised = (ack.detail.get("promised_by") if online else None) or self._promised(item.promised_days)
        data = {
            "kind": "online" if online else "offline", "case_no": ack.detail.get("case_no") if online else None,
            "item_name": item.name, "situation_name": item.situation(fields["item"]["situation"]).name,
            "applicant_masked": mask_name(card.name), "query_code": query_code,
            "query_code_display": format_query_code(query_code), "url": receipt_url(query_code),
            "submitted_at": now.strftime("%Y-%m-%d %H:%M") if self.ctx.trusted_now() else None,
            "promised_by": promised,
            "pickup": PICKUP_LABELS.get(fields["pickup"]["method"], fields["pickup"]["method"]),
            "window": catalog.window_of(item), "hotline": self.ctx.settings.hotline,
            "site_name": self.ctx.settings.site_name, "channel": fields["channel"],
            "agent_name": mask_name(agent.name) if agent else None,
        }
        wipe_container(fields)
        self.notices.keep(query_code, holder, agent.agent_id if agent else None, data)
        if agent is not None and self.on_committed is not None:
            self.on_committed(data, agent.agent_id)
        result = {"status": "accepted" if online else "pending", "notice": data, "bring": bring}
        result.update(self._print_notice(data))
        return result

    def _promised(self, days: int) -> str | None:
        day = self.ctx.catalog().calendar.promised_date(self.ctx.trusted_now(), days)
        return day.isoformat() if day else None

    def _print_notice(self, data: dict[str, Any]) -> dict[str, Any]:
        devices = self.ctx.devices
        try:
            devices.print(devices.receipts.acceptance_notice(data))
        except PrintFailed as exc:
            log.warning("acceptance notice not printed: %s", exc.code)
            self.ctx.audit("kiosk", "print", f"notice {data['query_code']} failed: {exc.code}")
            return {"printed": False, "print_error": exc.code, "print_message": print_message(exc.code)}
        self.ctx.audit("kiosk", "print", f"notice {data['query_code']}")
        return {"printed": True}

    def reprint(self, text_code: str) -> dict[str, Any]:
        """Print a notice again: only for the applicant (card in the reader) or the submitting agent."""
        session = require_session(self.ctx)
        code = parse_receipt_code(text_code) or ""
        data = self.notices.find(code, session)
        if data is None:
            raise ServiceError("not_found", "没有找到可以补打的受理通知书。请放上申请人的身份证再试，或到窗口补打。", 404)
        return self._print_notice(data)
