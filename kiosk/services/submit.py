"""Submission (网上申报) by a citizen or by a village agent for a resident: item and situation — or a
一件事一次办 bundle of items — checked against the card (age, card type), materials (免提交 / scanned with
the document camera / original at the window; a bundle's common documents once), phone, pickup captured for
real (the item's window, a mail address, a village point), consent (in agent mode given by the resident's
own tap after their card is read again), then the commit (`kiosk.services.commit`)."""
from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from edge_sync.querycode import mint_query_code
from kiosk.catalog import Catalog, Item, Situation
from kiosk.catalog.details import Bundle, BundleItem
from kiosk.ports import CapturedPage, CaptureRejected, Reply
from kiosk.services import Context, ServiceError, applicant_of, require_card, require_session
from kiosk.services.draft import Choice, Draft, DraftItem, DraftMaterial, MailAddress, PickupChoice, page_view
from kiosk.services.eligibility import check_applicant
from kiosk.services.gate import CommitGate
from kiosk.services.itemfacts import point_view, village_points, window_place
from kiosk.session import Role, Session, wipe_container

log = logging.getLogger(__name__)

DRAFT = "card:draft"  # a "card:" key: dropped when the card holder changes or leaves (citizen mode)
PHONE = re.compile(r"1[3-9][0-9]{9}")
MAX_PAGES = 20
CONSENT_READ_S = 180.0  # the resident's fresh card read counts this long for their consent
# Keyed by the camera driver's reject codes; other codes carry the driver's own villager message.
CAPTURE_MESSAGES = {
    "blank_page": "没有拍到内容，请把材料正面朝上放平在高拍仪下，再拍一次。",
    "blurred_page": "照片不清楚，请把材料放平、不要移动，再拍一次。",
    "page_not_found": "没有找到完整的纸张，请把整张材料放在拍摄区域内，再拍一次。",
}


def capture_page(ctx: Context, pages: list[CapturedPage]) -> None:
    """One more page from the document camera onto ``pages``. Raises ServiceError with what to do."""
    camera = ctx.devices.camera
    if camera is None:
        raise ServiceError("no_camera", "高拍仪暂时不能使用，请选择带原件到窗口。", 503)
    if len(pages) >= MAX_PAGES:
        raise ServiceError("too_many", f"一份材料最多拍 {MAX_PAGES} 页。", 409)
    try:
        pages.append(camera.capture_page())
    except CaptureRejected as exc:
        message = CAPTURE_MESSAGES.get(exc.reason) or exc.user_message or "拍照没有成功，请再试一次。"
        raise ServiceError("capture_" + exc.reason, message, 422) from None


def open_draft(session: Session) -> bool:
    draft = session.flow.get(DRAFT)
    return isinstance(draft, Draft) and draft.committed is None


class CardPresence:
    """Card reads as the reader reports them: how many so far, whose card was read last, and whether it is
    still on the reader. An agent's resident consents only after a read that came after the question."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.reads = 0
        self.holder: str | None = None
        self.read_at = 0.0
        self.on_reader = False

    def read(self, id_number: str) -> None:
        with self._lock:
            self.reads += 1
            self.holder, self.read_at, self.on_reader = id_number, self._clock(), True

    def removed(self) -> None:
        with self._lock:
            self.on_reader = False

    def fresh_since(self, count: int, holder: str) -> bool:
        """A read after the ``count``-th one, of ``holder``'s card, still on the reader and recent."""
        with self._lock:
            return (self.reads > count and self.on_reader and self.holder == holder
                    and self._clock() - self.read_at <= CONSENT_READ_S)


class SubmitService:
    def __init__(self, ctx: Context, mint: Callable[[], str] = mint_query_code,
                 presence: CardPresence | None = None) -> None:
        self.ctx = ctx
        self.mint = mint
        self.presence = presence or CardPresence()
        self.gate = CommitGate()  # closed by a reboot command: never restart in the middle of a commit
        # An open draft outlives the card's removal until the person answers the page's question.
        ctx.sessions.keep_on_card_removal(open_draft)
    # Card events (from the composition root) ---------------------------------------------------------
    def card_read(self, identity: Any) -> None:
        self.presence.read(str(identity.id_number))

    def card_removed(self) -> None:
        self.presence.removed()

    # Draft ------------------------------------------------------------------------------------------
    def draft(self, allow_committed: bool = False) -> tuple[Session, Draft]:
        """The card holder's open draft. Raises ServiceError (no card, no draft, another card)."""
        session = require_card(self.ctx)
        draft = session.flow.get(DRAFT)
        if not isinstance(draft, Draft) or (draft.committed is not None and not allow_committed):
            raise ServiceError("no_draft", "请先选择要办理的事项。", 409)
        if draft.holder != session.card.id_number:
            raise ServiceError("no_draft", "身份证已更换，请重新选择要办理的事项。", 409)
        return session, draft

    def start(self, item_code: str, situation_code: str) -> dict[str, Any]:
        """Begin a submission for the card holder (citizen) or for the resident whose card an agent read.
        Raises ServiceError: paused (printer), no card, item not allowed here, applicant not eligible."""
        catalog = self.ctx.catalog()
        return self._start(catalog, [BundleItem(item_code, situation_code)], None)

    def start_bundle(self, code: str) -> dict[str, Any]:
        """Begin a 一件事一次办 submission: one draft, one case per item. Raises ServiceError as ``start``."""
        catalog = self.ctx.catalog()
        bundle = catalog.extras.bundle(code)
        if bundle is None:
            raise ServiceError("not_found", "没有找到这件“一件事”，请重新选择。", 404)
        return self._start(catalog, list(bundle.items), bundle)

    def _start(self, catalog: Catalog, wanted: list[BundleItem], bundle: Bundle | None) -> dict[str, Any]:
        block = self.ctx.devices.notice_block()
        if block:
            raise ServiceError("paused", block, 503)
        session = require_card(self.ctx)
        channel = "agent" if session.role is Role.AGENT else "self"
        pairs: list[tuple[Item, Situation]] = []
        for entry in wanted:
            item = catalog.item(entry.item)
            situation = item.situation(entry.situation) if item else None
            if item is None or situation is None:
                raise ServiceError("not_found", "没有找到这个事项或情形，请重新选择。", 404)
            self._check_allowed(item, channel)
            today = (self.ctx.trusted_now() or self.ctx.wall_clock()).date()
            check_applicant(session.card, item.details.service.rule(situation.code), today, situation.name)
            pairs.append((item, situation))
        old = session.flow.pop(DRAFT, None)
        if isinstance(old, Draft):
            old.wipe()
        draft = Draft(draft_id=secrets.token_hex(8), holder=session.card.id_number, channel=channel,
                      catalog_version=catalog.version,
                      items=[DraftItem(item.code, item.name, situation.code, situation.name, str(uuid.uuid4()),
                                       self.mint()) for item, situation in pairs],
                      materials=self._materials(session, pairs, channel),
                      bundle_code=bundle.code if bundle else None, bundle_name=bundle.name if bundle else None)
        session.flow[DRAFT] = draft
        return self.view()

    def _check_allowed(self, item: Item, channel: str) -> None:
        if channel == "agent" and not item.agent_allowed:
            raise ServiceError("not_allowed", f"“{item.name}”不能代办，请告诉群众本人到窗口办理。", 409)
        if channel == "self" and not (item.self_service and self.ctx.settings.self_service):
            raise ServiceError("not_allowed", f"“{item.name}”不能在自助终端提交，请到窗口办理。", 409)

    def _materials(self, session: Session, pairs: list[tuple[Item, Situation]], channel: str) -> list[DraftMaterial]:
        """The draft's materials; in a bundle a document two items ask for (same name) is handed in once."""
        out: list[DraftMaterial] = []
        by_name: dict[str, DraftMaterial] = {}
        for index, (item, situation) in enumerate(pairs, 1):
            shared = self._platform_holds(session, item.code, situation.code)
            authorization = item.details.service.rule(situation.code).authorization if channel == "agent" else None
            for m in situation.materials:
                held = m.code in shared if shared is not None else m.shareable
                is_authorization = m.code == authorization
                same = by_name.get(m.name) if len(pairs) > 1 else None
                if same is not None:
                    same.targets += ((item.code, m.code),)
                    same.required = same.required or m.required or is_authorization
                    same.held = same.held and held
                    same.authorization = same.authorization or is_authorization
                    if not same.held and same.choice is Choice.SHARED:
                        same.choice = None
                    continue
                material = DraftMaterial(key=m.code if len(pairs) == 1 else f"{index}-{m.code}", name=m.name,
                                         form=m.form, copies=m.copies, required=m.required or is_authorization,
                                         held=held, note=m.note, targets=((item.code, m.code),),
                                         authorization=is_authorization,
                                         choice=Choice.SHARED if held and not is_authorization else None)
                by_name[m.name] = material
                out.append(material)
        return out

    def _platform_holds(self, session: Session, item: str, situation: str) -> set[str] | None:
        """Material codes the platform already holds for this applicant (免提交), or None if unknown."""
        if self.ctx.sync is None:
            return None
        reply = self.ctx.sync.request("materials.shared", {"applicant": applicant_of(session.card), "item": item,
                                                           "situation": situation},
                                      timeout=min(2.0, self.ctx.settings.request_timeout_s))
        if isinstance(reply, Reply):
            codes = reply.fields.get("materials", reply.fields.get("codes", []))
            return {str(c) for c in codes if isinstance(c, str)} if isinstance(codes, list) else None
        return None

    def _pickup_methods(self, draft: Draft) -> tuple[str, ...]:
        catalog = self.ctx.catalog()
        allowed: list[str] | None = None
        for entry in draft.items:
            item = catalog.item(entry.item_code)
            methods = list(item.pickup_methods) if item else []
            allowed = methods if allowed is None else [m for m in allowed if m in methods]
        points = village_points(catalog, self.ctx.settings)
        return tuple(m for m in allowed or [] if m != "village_point" or points)

    def _consent_state(self, draft: Draft) -> str:
        if draft.consent_at is not None:
            return "given"
        if draft.channel != "agent":
            return "open"
        if draft.consent_asked_at_read is None:
            return "ask_resident"
        if self.presence.fresh_since(draft.consent_asked_at_read, draft.holder):
            return "resident_may_consent"
        return "awaiting_card"

    def view(self) -> dict[str, Any]:
        """The draft as the page shows it (no identity beyond the masked name)."""
        session, draft = self.draft(allow_committed=True)
        catalog = self.ctx.catalog()
        first = catalog.item(draft.items[0].item_code)
        window_check = any((i := catalog.item(e.item_code)) is not None and i.details.service.window_check
                           for e in draft.items)
        return page_view(draft, session.card.name, pickup_methods=self._pickup_methods(draft),
                         window_place=window_place(catalog, first) if first else "",
                         village_points=[point_view(p) for p in village_points(catalog, self.ctx.settings)],
                         camera=self.ctx.devices.camera is not None, window_check=window_check,
                         consent_state=self._consent_state(draft))

    def choose(self, material: str, choice: str) -> dict[str, Any]:
        _, draft = self.draft()
        state = draft.material(material)
        try:
            chosen = Choice(choice)
        except ValueError:
            raise ServiceError("bad_request", "请重新选择材料的提交方式。", 400) from None
        if chosen is Choice.SHARED and not state.held:
            raise ServiceError("not_held", "平台没有这份材料，请拍照上传或带原件到窗口。", 409)
        if chosen is Choice.SCAN and self.ctx.devices.camera is None:
            raise ServiceError("no_camera", "高拍仪暂时不能使用，请选择带原件到窗口。", 503)
        if state.authorization and chosen is not Choice.SCAN:
            raise ServiceError("authorization_scan", "代办须拍照上传群众签字的授权委托书，请用高拍仪拍照。", 409)
        state.choice = chosen
        if chosen is not Choice.SCAN:
            state.pages.clear()
        draft.changed()
        return self.view()

    def capture(self, material: str) -> dict[str, Any]:
        """Photograph one page of a material with the document camera. Raises ServiceError with what to do."""
        _, draft = self.draft()
        state = draft.material(material)
        capture_page(self.ctx, state.pages)
        state.choice = Choice.SCAN
        draft.changed()
        return {"page": len(state.pages) - 1, **self.view()}

    def page_jpeg(self, material: str, index: int) -> bytes:
        _, draft = self.draft()
        pages = draft.material(material).pages
        if not 0 <= index < len(pages):
            raise ServiceError("not_found", "没有这一页。", 404)
        return pages[index].jpeg

    def retake(self, material: str, index: int) -> dict[str, Any]:
        """Drop one page (the villager then captures it again)."""
        _, draft = self.draft()
        pages = draft.material(material).pages
        if 0 <= index < len(pages):
            del pages[index]
            draft.changed()
        return self.view()

    def _page(self, material: str, index: int) -> tuple[Draft, list[CapturedPage]]:
        _, draft = self.draft()
        pages = draft.material(material).pages
        if not 0 <= index < len(pages):
            raise ServiceError("not_found", "没有这一页，请重新选择。", 404)
        return draft, pages

    def replace_page(self, material: str, index: int) -> dict[str, Any]:
        """重拍: photograph page ``index`` again and put the new picture in its place; a rejected capture
        keeps the old page. Raises ServiceError with what to do."""
        draft, pages = self._page(material, index)
        fresh: list[CapturedPage] = []
        capture_page(self.ctx, fresh)
        pages[index] = fresh[0]
        draft.changed()
        return {"page": index, **self.view()}

    def delete_page(self, material: str, index: int) -> dict[str, Any]:
        draft, pages = self._page(material, index)
        del pages[index]
        draft.changed()
        return self.view()

    def move_page(self, material: str, index: int, to: int) -> dict[str, Any]:
        """Put page ``index`` at position ``to`` (the others keep their order)."""
        draft, pages = self._page(material, index)
        if not 0 <= to < len(pages):
            raise ServiceError("bad_request", "这一页不能再移动了。", 400)
        pages.insert(to, pages.pop(index))
        draft.changed()
        return self.view()

    def set_pickup(self, method: str, point: str | None = None, address: Any = None) -> dict[str, Any]:
        """Window (the item's own), mail (a structured address) or a village point of this site's list.
        Raises ServiceError naming what to fix."""
        _, draft = self.draft()
        if method not in self._pickup_methods(draft):
            raise ServiceError("bad_pickup", "请从列出的领取方式中选择一种。", 400)
        catalog = self.ctx.catalog()
        if method == "window":
            first = catalog.item(draft.items[0].item_code)
            place = window_place(catalog, first) if first else ""
            draft.pickup = PickupChoice("window", place, place)
        elif method == "village_point":
            points = village_points(catalog, self.ctx.settings)
            chosen = next((p for p in points if p.code == point), None) if point else \
                (points[0] if len(points) == 1 else None)
            if chosen is None:
                raise ServiceError("bad_pickup", "请选择到哪个村（社区）便民服务点领取。", 400)
            draft.pickup = PickupChoice("village_point", f"{chosen.code} {chosen.name}", chosen.text(),
                                        point=chosen.code)
        else:
            mail = MailAddress.from_input(address)
            draft.pickup = PickupChoice("mail", mail.full_text(), mail.masked_text(), address=mail)
        draft.changed()
        return self.view()

    def details(self, phone: str | None = None, pickup: str | None = None,
                consent: bool | None = None) -> dict[str, Any]:
        """Phone, a pickup method that needs no further choice (window; the only village point), consent.
        Raises ServiceError (bad phone, a mail pickup without address, consent not from the resident)."""
        _, draft = self.draft()
        if phone is not None:
            phone = re.sub(r"[\s-]", "", phone)
            if not PHONE.fullmatch(phone):
                raise ServiceError("bad_phone", "手机号码应为 11 位数字，请核对后重新输入。", 400)
            if phone != draft.phone:
                draft.phone = phone
                draft.changed()
        if pickup is not None:
            if pickup == "mail":
                raise ServiceError("address_needed", "邮寄送达请填写收件地址。", 400)
            self.set_pickup(pickup)
        if consent is not None:
            self._consent(draft, consent)
        return self.view()

    def ask_resident_consent(self) -> dict[str, Any]:
        """Agent mode: the resident is asked to put their card on the reader again and tap 我同意 themselves."""
        _, draft = self.draft()
        if draft.channel != "agent":
            raise ServiceError("bad_request", "本人办理时直接点“我已了解并同意”。", 400)
        draft.consent_at = None
        draft.consent_asked_at_read = self.presence.reads
        return self.view()

    def _consent(self, draft: Draft, consent: bool) -> None:
        if not consent:
            draft.consent_at = None
            return
        if draft.channel == "agent" and not (draft.consent_asked_at_read is not None and
                                             self.presence.fresh_since(draft.consent_asked_at_read, draft.holder)):
            # The agent cannot consent for the resident: only a read of the resident's own card after the
            # question, still on the reader, opens the consent (bound to that read).
            raise ServiceError("consent_by_resident", "请群众本人拿起身份证再放到读卡区，读卡后由群众本人点“我同意”。",
                               403)
        draft.consent_at = self.ctx.wall_clock().isoformat(timespec="seconds")
        if draft.channel == "agent":  # the read is used up: another consent needs another read
            draft.consent_read, draft.consent_asked_at_read = self.presence.reads, None

    def cancel(self) -> None:
        session = require_session(self.ctx)
        draft = session.flow.pop(DRAFT, None)
        if isinstance(draft, Draft):
            draft.wipe()
        else:
            wipe_container(draft)
