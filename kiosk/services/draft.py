"""The draft of a submission (申报草稿) as ONE typed value, kept in the session while a person fills it:
the items (one, or several for a 一件事一次办 bundle) with their pre-minted case ids and query codes, the
materials (merged across the items of a bundle), phone, pickup (window / mail with a structured address /
village point), consent, and once committed the outcome. The page's JSON is a view of it (`page_view`)."""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from drivers.masking import mask_name, mask_phone
from kiosk.catalog.model import PICKUP_LABELS
from kiosk.ports import CapturedPage
from kiosk.services import ServiceError, clean_text

if TYPE_CHECKING:
    from kiosk.services.commit import CommitOutcome

PHONE = re.compile(r"1[3-9][0-9]{9}")


def page_id(page: CapturedPage) -> str:
    """A short fingerprint of a captured page: the page's picture URL changes when 重拍 replaces it."""
    return hashlib.sha256(page.jpeg).hexdigest()[:12]
POSTCODE = re.compile(r"[0-9]{6}")


class Choice(StrEnum):
    """How a material is handed in: the platform holds it (免提交), scanned here, or the original at a window."""

    SHARED = "shared"
    SCAN = "scan"
    PAPER = "paper"


@dataclass
class DraftMaterial:
    """One material of the draft; ``targets`` are the (item, material code) pairs it stands for (several
    when a bundle's items ask for the same document: it is captured once)."""

    key: str
    name: str
    form: str
    copies: int
    required: bool
    held: bool
    note: str
    targets: tuple[tuple[str, str], ...]
    authorization: bool = False  # the 授权委托书 an agent must capture
    choice: Choice | None = None
    pages: list[CapturedPage] = field(default_factory=list)

    @property
    def to_bring(self) -> str | None:
        """Why it is brought to the window: ``paper`` (handed in there), ``check`` (scanned here, the window
        checks the original against the scan), or None."""
        if self.choice is Choice.PAPER:
            return "paper"
        return "check" if self.choice is Choice.SCAN and "原件" in self.form else None

    def bring_view(self) -> dict[str, Any]:
        return {"code": self.key, "name": self.name, "form": self.form, "copies": self.copies, "why": self.to_bring}


@dataclass(frozen=True)
class DraftItem:
    item_code: str
    item_name: str
    situation_code: str
    situation_name: str
    case_id: str      # minted at start: committing the same draft twice cannot make two cases
    query_code: str


@dataclass(frozen=True)
class MailAddress:
    """A structured mail address entered on screen (邮寄送达)."""

    recipient: str
    phone: str
    province: str
    city: str
    county: str
    street: str
    detail: str
    postcode: str = ""

    @classmethod
    def from_input(cls, raw: Any) -> MailAddress:
        """From the page's JSON object. Raises ServiceError naming the field to fix."""
        if not isinstance(raw, dict):
            raise ServiceError("bad_address", "请填写邮寄地址。", 400)
        limits = {"recipient": 20, "province": 20, "city": 20, "county": 20, "street": 30, "detail": 60}
        names = {"recipient": "收件人", "province": "省", "city": "市", "county": "区县", "street": "乡镇（街道）",
                 "detail": "详细地址"}
        values = {k: clean_text(raw.get(k), n) for k, n in limits.items()}
        for key, value in values.items():
            if not value:
                raise ServiceError("bad_address", f"请填写邮寄地址的“{names[key]}”。", 400)
        phone = re.sub(r"[\s-]", "", str(raw.get("phone") or ""))
        if not PHONE.fullmatch(phone):
            raise ServiceError("bad_address", "收件人手机号码应为 11 位数字，请核对。", 400)
        postcode = str(raw.get("postcode") or "").strip()
        if postcode and not POSTCODE.fullmatch(postcode):
            raise ServiceError("bad_address", "邮政编码应为 6 位数字，可以不填。", 400)
        return cls(phone=phone, postcode=postcode, **values)

    def full_text(self) -> str:
        """For central only (contract v1 ``pickup.detail``): never shown, logged or printed."""
        tail = f" {self.postcode}" if self.postcode else ""
        return (f"{self.province}{self.city}{self.county}{self.street}{self.detail} "
                f"{self.recipient} {self.phone}{tail}")

    def masked_text(self) -> str:
        who = f"{mask_name(self.recipient)} {mask_phone(self.phone)}"
        return f"{self.province}{self.city}{self.county}****（收件人 {who}）"


@dataclass(frozen=True)
class PickupChoice:
    """The pickup captured for real: ``detail`` travels in the case (v1 ``pickup.detail``), ``shown`` is the
    masked place for the screen and the paper."""

    method: str
    detail: str
    shown: str
    point: str | None = None
    address: MailAddress | None = None

    @property
    def label(self) -> str:
        return PICKUP_LABELS.get(self.method, self.method)


@dataclass
class Draft:
    """A submission being filled in. ``holder`` is the applicant's ID number (to notice a card change);
    ``lock`` serialises commits so that one draft gives one set of cases."""

    draft_id: str
    holder: str
    channel: str
    catalog_version: int
    items: list[DraftItem]
    materials: list[DraftMaterial]
    bundle_code: str | None = None
    bundle_name: str | None = None
    phone: str = ""
    pickup: PickupChoice | None = None
    consent_at: str | None = None
    consent_asked_at_read: int | None = None  # agent mode: the card read count when the resident was asked
    consent_read: int | None = None           # agent mode: the card read the resident's consent is bound to
    committed: CommitOutcome | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def material(self, key: str) -> DraftMaterial:
        found = next((m for m in self.materials if m.key == key), None)
        if found is None:
            raise ServiceError("bad_request", "请重新选择材料。", 400)
        return found

    def changed(self) -> None:
        """Anything the applicant consented to changed: the consent must be given again (by a resident:
        after being asked again and reading the card again)."""
        self.consent_at = None
        self.consent_asked_at_read = None

    @property
    def pre_review(self) -> bool:
        """Originals still to be checked at a window: the notice will be a 预审回执."""
        return any(m.choice is Choice.PAPER for m in self.materials)

    def originals(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.materials if m.to_bring)

    def release(self) -> None:
        """After the commit: drop the captured pages, the phone and the mail address (the engine has its
        copies); the holder stays so that a repeated commit of this draft is recognised."""
        for m in self.materials:
            m.pages.clear()
        self.phone = ""
        self.pickup = None

    def wipe(self) -> None:
        """The draft is abandoned or replaced: nothing of the person stays in it."""
        self.release()
        self.holder = ""


def page_view(draft: Draft, applicant_name: str, *, pickup_methods: tuple[str, ...], window_place: str,
              village_points: list[dict[str, str]], camera: bool, window_check: bool,
              consent_state: str) -> dict[str, Any]:
    """The draft as the page shows it: masked name and phone, nothing else of the person."""
    first = draft.items[0]
    return {
        "draft_id": draft.draft_id, "channel": draft.channel,
        "item": {"code": first.item_code, "name": first.item_name},
        "situation": {"code": first.situation_code, "name": first.situation_name},
        "items": [{"code": i.item_code, "name": i.item_name,
                   "situation": {"code": i.situation_code, "name": i.situation_name}} for i in draft.items],
        "bundle": {"code": draft.bundle_code, "name": draft.bundle_name} if draft.bundle_code else None,
        "materials": [{"code": m.key, "name": m.name, "form": m.form, "copies": m.copies, "required": m.required,
                       "shareable": m.held, "held": m.held, "note": m.note, "choice": m.choice.value if m.choice
                       else None, "pages": len(m.pages), "page_ids": [page_id(p) for p in m.pages],
                       "authorization": m.authorization,
                       "for_items": sorted({i.item_name for i in draft.items
                                            for code, _ in m.targets if code == i.item_code})}
                      for m in draft.materials],
        "applicant": mask_name(applicant_name), "phone": mask_phone(draft.phone) if draft.phone else "",
        "pickup": draft.pickup.method if draft.pickup else None,
        "pickup_place": draft.pickup.shown if draft.pickup else None,
        "pickup_methods": [{"method": p, "label": PICKUP_LABELS.get(p, p)} for p in pickup_methods],
        "pickup_options": {"window": window_place, "village_points": village_points,
                           "mail": ["recipient", "phone", "province", "city", "county", "street", "detail",
                                    "postcode"]},
        "consent": draft.consent_at is not None, "consent_state": consent_state, "camera": camera,
        "pre_review": window_check or draft.pre_review, "originals": list(draft.originals()),
        "committed": draft.committed is not None,
    }
