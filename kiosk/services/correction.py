"""补正 (correction): for a case central put in ``correction_needed``, the applicant (card in the reader) or
their village agent captures each requested material with the document camera and submits them from the
terminal as a durable ``case.correction`` (contract addendum): stored before "submitted", delivered when
central is reachable, and one correction draft gives one correction however often it is submitted."""
from __future__ import annotations

import copy
import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from kiosk.ports import AlreadyCommitted, Attachment, CapturedPage, StorageFull
from kiosk.services import Context, ServiceError, actor_of, require_session
from kiosk.services.casework import CaseworkService, proof_of
from kiosk.services.submit import capture_page

log = logging.getLogger(__name__)
CORRECTION = "card:correction"
PENDING_NOTE = "联网后会自动上报平台，您不用再做什么。"


@dataclass
class CorrectionItem:
    code: str
    name: str
    note: str
    pages: list[CapturedPage] = field(default_factory=list)


@dataclass
class CorrectionDraft:
    correction_id: str
    query_code: str
    item_name: str
    items: list[CorrectionItem]
    result: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def item(self, code: str) -> CorrectionItem:
        found = next((i for i in self.items if i.code == code), None)
        if found is None:
            raise ServiceError("bad_request", "请重新选择要补正的材料。", 400)
        return found

    def view(self) -> dict[str, Any]:
        return {"correction_id": self.correction_id, "query_code": self.query_code, "item_name": self.item_name,
                "materials": [{"code": i.code, "name": i.name, "note": i.note, "pages": len(i.pages)}
                              for i in self.items], "submitted": self.result is not None}


class CorrectionService:
    def __init__(self, ctx: Context, casework: CaseworkService) -> None:
        self.ctx = ctx
        self.casework = casework

    def _draft(self) -> CorrectionDraft:
        draft = require_session(self.ctx).flow.get(CORRECTION)
        if not isinstance(draft, CorrectionDraft):
            raise ServiceError("no_correction", "请先从办件进度中选择“补正材料”。", 409)
        return draft

    def start(self, text_code: str) -> dict[str, Any]:
        """Open the correction of one of the actor's cases. Raises ServiceError (not in correction, no
        camera, offline, not the actor's case)."""
        if self.ctx.devices.camera is None:
            raise ServiceError("no_camera", "高拍仪暂时不能使用，补正材料请带原件到窗口。", 503)
        code = self.casework.query.parse(text_code)
        view = self.casework.case_view(code)
        if view.get("status") != "correction_needed":
            raise ServiceError("no_correction", "这件办件现在不需要补正材料。", 409)
        wanted = [c for c in view.get("corrections", []) if c.get("code")]
        if not wanted:
            raise ServiceError("no_correction", "平台没有说明要补正哪些材料，请到窗口咨询。", 409)
        draft = CorrectionDraft(str(uuid.uuid4()), code, str(view.get("item_name", "")),
                                [CorrectionItem(str(c["code"]), str(c.get("name") or c["code"]),
                                                str(c.get("note", ""))) for c in wanted])
        require_session(self.ctx).flow[CORRECTION] = draft
        return draft.view()

    def view(self) -> dict[str, Any]:
        return self._draft().view()

    def capture(self, material: str) -> dict[str, Any]:
        draft = self._draft()
        capture_page(self.ctx, draft.item(material).pages)
        return draft.view()

    def retake(self, material: str, index: int) -> dict[str, Any]:
        draft = self._draft()
        pages = draft.item(material).pages
        if 0 <= index < len(pages):
            del pages[index]
        return draft.view()

    def page_jpeg(self, material: str, index: int) -> bytes:
        pages = self._draft().item(material).pages
        if not 0 <= index < len(pages):
            raise ServiceError("not_found", "没有这一页。", 404)
        return pages[index].jpeg

    def commit(self) -> dict[str, Any]:
        """Store the correction durably and wait briefly for central. Raises ServiceError only before it is
        stored; a repeated or concurrent call returns the same answer."""
        draft = self._draft()
        with draft.lock:
            if draft.result is None:
                draft.result = self._commit(draft)
            return draft.result

    def _commit(self, draft: CorrectionDraft) -> dict[str, Any]:
        missing = [i.name for i in draft.items if not i.pages]
        if missing:
            raise ServiceError("incomplete", f"“{missing[0]}”还没有拍照。", 409)
        camera = self.ctx.devices.camera
        if camera is None:
            raise ServiceError("no_camera", "高拍仪暂时不能使用，补正材料请带原件到窗口。", 503)
        session, proof = proof_of(self.ctx)
        attachments = []
        for item in draft.items:
            pdf = camera.to_pdf(list(item.pages))
            attachments.append(Attachment(item.code, pdf, len(item.pages),
                                          f"b-{hashlib.sha256(pdf).hexdigest()[:12]}-{uuid.uuid4().hex[:12]}"))
        fields = {"correction_id": draft.correction_id, "query_code": draft.query_code, "by": proof.fields(),
                  "created_at": self.ctx.wall_clock().isoformat(timespec="seconds")}
        sync = self.ctx.require_sync()
        try:
            sync.submit_correction(copy.deepcopy(fields), attachments)
        except StorageFull:
            raise ServiceError("storage_full", "终端存储空间已满，暂时不能提交补正材料，请带原件到窗口。",
                               507) from None
        except AlreadyCommitted:
            log.warning("correction stored earlier; answering with it")
        for item in draft.items:
            item.pages.clear()
        self.ctx.audit(actor_of(session), "case.correction", draft.correction_id)
        try:
            ack = sync.wait_case_ack(draft.correction_id, timeout=self.ctx.settings.ack_wait_s)
        except Exception:  # stored: the answer is "submitted" whatever happens now
            log.exception("waiting for the correction's ack failed")
            ack = None
        if ack is not None and ack.result == "rejected":
            return {"status": "rejected", "submitted": True,
                    "message": "平台没有接收这次补正，请带原件到窗口办理。"}
        status = "accepted" if ack is not None else "pending"
        return {"status": status, "submitted": True, "query_code": draft.query_code,
                "message": "补正材料已提交。" + ("" if ack is not None else PENDING_NOTE)}
