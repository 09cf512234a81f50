"""The commit of a draft: one draft gives exactly one set of cases (one per item) however often and however
concurrently it is committed; the cases are durable through edge_sync before anything says "submitted";
after that nothing — no ack, a failed print, a fault of ours — ever tells the person to submit again: the
answer says it is submitted and offers a reprint. The notice is built once (`kiosk.services.notice`)."""
from __future__ import annotations

import copy
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.masking import mask_name
from edge_sync.querycode import parse_receipt_code
from kiosk.catalog import Catalog
from kiosk.ports import AlreadyCommitted, Attachment, CaseAck, PrintFailed, StorageFull
from kiosk.services import Context, ServiceError, actor_of, require_session
from kiosk.services.consult import print_message
from kiosk.services.draft import Choice, Draft, DraftItem
from kiosk.services.evaluation import offer
from kiosk.services.gate import CommitGate
from kiosk.services.itemfacts import window_place
from kiosk.services.notice import Notice, NoticeCase, NoticeStage, PickupPlace
from kiosk.services.records import ServiceRecords
from kiosk.services.submit import DRAFT, SubmitService
from kiosk.session import Role, Session

log = logging.getLogger(__name__)
# session.flow: the last outcome, for a repeated commit once the draft is gone; a "card:" key, so that
# the next card holder never gets it.
LAST = "card:submitted"
# Statuses by which central has accepted (受理) a case.
ACCEPTED_STATUSES = frozenset({"accepted", "in_review", "approved", "certificate", "ready_for_pickup", "picked_up"})
MESSAGES = {
    NoticeStage.ACCEPTED: "申请已提交，平台已受理。",
    NoticeStage.PRE_REVIEW: "申请已提交。请带上预审回执、身份证和需要核验的原件到窗口，核验通过后受理。",
    NoticeStage.PENDING: "申请已提交并保存在本机，联网后会自动上报平台，您不用再做什么。",
}
AFTER_FAULT = "申请已经提交成功。回执暂时没有打印出来，可以点“补打”，或凭查询码到窗口补打。"


@dataclass(frozen=True)
class CommitOutcome:
    """The answer to a commit, kept on the draft: a repeated or concurrent commit gets the same one."""

    status: str  # accepted | pre_review | pending | rejected
    notice: Notice | None
    printed: bool
    message: str
    print_error: str | None = None
    offers: tuple[dict[str, Any], ...] = field(default=())
    bring: tuple[dict[str, Any], ...] = field(default=())  # what to bring to the window, with why

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "submitted": True, "printed": self.printed,
                               "message": self.message, "reprint": not self.printed and self.notice is not None,
                               "evaluation": list(self.offers), "bring": list(self.bring)}
        if self.notice is not None:
            out["notice"] = self.notice.page_view()
        if self.print_error:
            out.update(print_error=self.print_error,
                       print_message=print_message(self.print_error) + " " + AFTER_FAULT)
        return out


class Committer:
    def __init__(self, ctx: Context, submit: SubmitService, records: ServiceRecords,
                 on_committed: Callable[[Notice, str], None] | None = None) -> None:
        """``on_committed(notice, agent_id)`` is called after an agent's cases are committed."""
        self.ctx = ctx
        self.submit = submit
        self.records = records
        self.on_committed = on_committed
        self.gate: CommitGate = submit.gate

    def commit(self) -> dict[str, Any]:
        """Commit durably, wait briefly for central's acks, print the notice. Raises ServiceError only
        before anything is stored (nothing submitted; also "paused" while a reboot is pending)."""
        session = require_session(self.ctx)
        done = self._done(session)
        if done is not None:
            return done.view()  # the same cases again: one draft, one commit
        with self.gate.commit():
            try:
                session, draft = self.submit.draft(allow_committed=True)
            except ServiceError:
                done = self._done(session)  # committed meanwhile by a concurrent call
                if done is not None:
                    return done.view()
                raise
            with draft.lock:
                if draft.committed is None:
                    draft.committed = self._commit(session, draft)
                    session.flow[LAST] = draft.committed
                return draft.committed.view()

    @staticmethod
    def _done(session: Session) -> CommitOutcome | None:
        draft = session.flow.get(DRAFT)
        if isinstance(draft, Draft):
            return draft.committed
        last = session.flow.get(LAST)
        return last if isinstance(last, CommitOutcome) else None

    # Before the commit: everything that may refuse ------------------------------------------------------
    def _check(self, session: Session, draft: Draft, catalog: Catalog) -> None:
        for m in draft.materials:
            if m.required and m.choice is None:
                raise ServiceError("incomplete", f"请为“{m.name}”选择提交方式。", 409)
            if m.choice is Choice.SCAN and not m.pages:
                raise ServiceError("incomplete", f"“{m.name}”还没有拍照。", 409)
            if m.authorization and m.choice is not Choice.SCAN:
                raise ServiceError("incomplete", f"代办须拍照上传“{m.name}”（群众签字的授权委托书）。", 409)
        if not draft.phone:
            raise ServiceError("incomplete", "请填写联系电话。", 409)
        if draft.pickup is None:
            raise ServiceError("incomplete", "请选择领取方式。", 409)
        if not draft.consent_at:
            raise ServiceError("incomplete", "请群众本人阅读并同意《个人信息使用告知》。" if draft.channel == "agent"
                               else "请阅读并同意《个人信息使用告知》。", 409)
        if catalog.version != draft.catalog_version and any(catalog.item(i.item_code) is None for i in draft.items):
            raise ServiceError("not_found", "事项目录已更新，这个事项已不在目录中，请重新选择。", 409)
        block = self.ctx.devices.notice_block()
        if block:
            raise ServiceError("paused", block, 503)

    def _envelopes(self, session: Session, draft: Draft, now: str) -> list[tuple[dict[str, Any], list[Attachment]]]:
        camera = self.ctx.devices.camera
        card = session.card
        agent = session.agent if session.role is Role.AGENT else None
        out = []
        for entry in draft.items:
            materials: list[dict[str, Any]] = []
            attachments: list[Attachment] = []
            for m in draft.materials:
                for item_code, code in m.targets:
                    if item_code != entry.item_code or m.choice is None:
                        continue
                    if m.choice is Choice.SCAN and camera is not None:
                        pdf = camera.to_pdf(list(m.pages))
                        blob = {"id": f"b-{uuid.uuid4()}", "sha256": hashlib.sha256(pdf).hexdigest(),
                                "size": len(pdf), "pages": len(m.pages), "mime": "application/pdf"}
                        materials.append({"code": code, "source": "scan", "blob": blob})
                        attachments.append(Attachment(code, pdf, len(m.pages), str(blob["id"])))
                    else:
                        materials.append({"code": code, "source": m.choice.value})
            assert draft.pickup is not None
            out.append(({
                "case_id": entry.case_id, "query_code": entry.query_code, "created_at": now,
                "item": {"code": entry.item_code, "situation": entry.situation_code, "catalog": draft.catalog_version},
                "channel": draft.channel,
                "applicant": {"name": card.name, "id_type": getattr(card, "id_type", "resident"),
                              "id_no": card.id_number, "phone": draft.phone},
                "agent": {"agent_id": agent.agent_id, "name": agent.name} if agent else None,
                "materials": materials, "pickup": {"method": draft.pickup.method, "detail": draft.pickup.detail},
                "consent": {"version": self.ctx.settings.consent_version, "at": draft.consent_at}, "test": False,
            }, attachments))
        return out

    def _bundle_event(self, draft: Draft) -> list[tuple[str, dict[str, Any]]]:
        if draft.bundle_code is None:
            return []
        return [("case.bundle", {"bundle_id": draft.draft_id + "-" + draft.items[0].case_id[:8],
                                 "bundle": {"code": draft.bundle_code, "name": draft.bundle_name},
                                 "cases": [{"case_id": i.case_id, "query_code": i.query_code, "item": i.item_code}
                                           for i in draft.items]})]

    # The commit ----------------------------------------------------------------------------------------
    def _commit(self, session: Session, draft: Draft) -> CommitOutcome:
        catalog = self.ctx.catalog()
        self._check(session, draft, catalog)
        sync = self.ctx.require_sync()
        now = self.ctx.wall_clock()
        cases = self._envelopes(session, draft, now.isoformat(timespec="seconds"))
        try:
            # The engine gets its own copies: the draft is wiped below, whatever it keeps.
            sync.submit_cases([(copy.deepcopy(c), list(a)) for c, a in cases], self._bundle_event(draft))
        except StorageFull:
            raise ServiceError("storage_full", "终端存储空间已满，暂停提交申请。"
                               "请到人工窗口办理，咨询和查询可以继续使用。", 507) from None
        except AlreadyCommitted:
            log.warning("draft committed earlier; answering with its cases")
        # From here on the cases exist: whatever happens, the answer is "submitted" (never "submit again").
        holder = draft.holder
        agent = session.agent if session.role is Role.AGENT else None
        try:
            log.info("case committed: channel=%s items=%d", draft.channel, len(draft.items))
            for entry in draft.items:
                self.ctx.audit(actor_of(session), "case.submit", entry.case_id)
            outcome = self._after_commit(session, draft, catalog, holder, agent.agent_id if agent else None,
                                         mask_name(agent.name) if agent else None)
        except Exception:  # a fault of ours after the commit: still "submitted", with a reprint offer
            log.exception("fault after a commit; the cases are stored and will be delivered")
            outcome = CommitOutcome("pending", None, False, AFTER_FAULT)
        finally:
            draft.release()
            for _, attachments in cases:
                attachments.clear()
        return outcome

    def _after_commit(self, session: Session, draft: Draft, catalog: Catalog, holder: str, agent_id: str | None,
                      agent_masked: str | None) -> CommitOutcome:
        sync = self.ctx.require_sync()
        deadline = time.monotonic() + self.ctx.settings.ack_wait_s
        acks = [sync.wait_case_ack(i.case_id, timeout=max(0.0, deadline - time.monotonic())) for i in draft.items]
        if any(a is not None and a.result == "rejected" for a in acks):
            return CommitOutcome("rejected", None, False, "平台没有接受这件申请，请带上身份证到窗口咨询。")
        trusted = self.ctx.trusted_now()
        notice = Notice(cases=tuple(self._notice_case(catalog, draft, entry, ack)
                                    for entry, ack in zip(draft.items, acks, strict=True)),
                        applicant_masked=mask_name(session.card.name), site_name=self.ctx.settings.site_name,
                        hotline=self.ctx.settings.hotline,
                        submitted_at=trusted.strftime("%Y-%m-%d %H:%M") if trusted else None,
                        channel=draft.channel, agent_masked=agent_masked, bundle_name=draft.bundle_name)
        self._keep(notice, holder, agent_id)
        offers = tuple(offer(session, "case", c.query_code, c.item_name) for c in notice.cases)
        bring = tuple(m.bring_view() for m in draft.materials if m.to_bring)
        printed, error = self.print_notice(notice)
        return CommitOutcome(notice.stage.value, notice, printed, MESSAGES[notice.stage], error, offers, bring)

    def _notice_case(self, catalog: Catalog, draft: Draft, entry: DraftItem, ack: CaseAck | None) -> NoticeCase:
        item = catalog.item(entry.item_code)
        own = [m for m in draft.materials if any(code == entry.item_code for code, _ in m.targets)]
        window_check = (item is not None and item.details.service.window_check) or \
            any(m.choice is Choice.PAPER for m in own)
        if ack is None or ack.result not in ("accepted", "duplicate"):
            stage = NoticeStage.PENDING
        elif str(ack.detail.get("status")) in ACCEPTED_STATUSES and not window_check:
            stage = NoticeStage.ACCEPTED
        else:
            stage = NoticeStage.PRE_REVIEW
        assert draft.pickup is not None
        place = draft.pickup.shown
        if draft.pickup.method == "window" and item is not None:
            place = window_place(catalog, item)
        case_no = ack.detail.get("case_no") if ack is not None and stage is not NoticeStage.PENDING else None
        promised = ack.detail.get("promised_by") if ack is not None and stage is NoticeStage.ACCEPTED else None
        return NoticeCase(item_code=entry.item_code, item_name=entry.item_name, situation_name=entry.situation_name,
                          authority=catalog.departments.get(item.department, item.department) if item else "",
                          query_code=entry.query_code, case_no=str(case_no) if case_no else None, stage=stage,
                          promised_days=item.promised_days if item else 0,
                          promised_by=str(promised) if promised else None,
                          originals=tuple(m.name for m in own if m.to_bring),
                          pickup=PickupPlace(draft.pickup.method, place))

    def _keep(self, notice: Notice, holder: str, agent_id: str | None) -> None:
        try:
            self.records.keep_notice(notice, holder, agent_id)
        except Exception as exc:  # the notice still prints; a reprint then needs the window
            log.error("reprint record not kept: %s", type(exc).__name__)
        if agent_id is not None and self.on_committed is not None:
            try:
                self.on_committed(notice, agent_id)
            except Exception as exc:
                log.error("agent case ledger not updated: %s", type(exc).__name__)

    def print_notice(self, notice: Notice) -> tuple[bool, str | None]:
        """(printed, error code). Never raises: a failed print is an answer, not a fault."""
        devices = self.ctx.devices
        codes = ",".join(notice.query_codes)
        try:
            if devices.receipts is None:
                raise PrintFailed("no_printer")
            devices.print(devices.receipts.acceptance_notice(notice))
        except PrintFailed as exc:
            log.warning("notice not printed: %s", exc.code)
            self.ctx.audit("kiosk", "print", f"notice {codes} failed: {exc.code}")
            return False, exc.code
        except Exception as exc:
            log.error("notice not printed: %s", type(exc).__name__)
            self.ctx.audit("kiosk", "print", f"notice {codes} failed: printer_error")
            return False, "printer_error"
        self.ctx.audit("kiosk", "print", f"notice {codes}")
        return True, None

    def notices_for(self, session: Session) -> list[Notice]:
        """The notices printed here for the session's card holder (my cases before central lists them)."""
        if session.card is None:
            return []
        try:
            return self.records.notices_for_holder(session.card.id_number)
        except Exception as exc:  # the list from central is still shown
            log.error("local notices not read: %s", type(exc).__name__)
            return []

    def reprint(self, text_code: str) -> dict[str, Any]:
        """Print a notice again: only for the applicant (card in the reader) or the submitting agent; works
        after a restart (the records are kept encrypted on disk)."""
        session = require_session(self.ctx)
        code = parse_receipt_code(text_code) or ""
        holder = session.card.id_number if session.card is not None else None
        agent = session.agent.agent_id if session.role is Role.AGENT and session.agent is not None else None
        notice = self.records.find_notice(code, holder, agent) if code else None
        if notice is None:
            raise ServiceError("not_found", "没有找到可以补打的回执。请放上申请人的身份证再试，或到窗口补打。", 404)
        printed, error = self.print_notice(notice)
        out: dict[str, Any] = {"printed": printed, "notice": notice.page_view()}
        if error:
            out.update(print_error=error, print_message=print_message(error))
        return out
