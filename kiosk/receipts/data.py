"""Typed input of the slips other than the notice (whose value, `kiosk.services.notice.Notice`, the submit
service owns): the one-time checklist (一次性告知单), the queue ticket and the complaint / 催办 receipt.
The services build them once; personal data never enters them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MaterialData:
    """One material (材料) of a situation: ``form`` 原件/复印件/原件及复印件; ``shareable`` = 免提交."""

    name: str
    form: str = "原件"
    copies: int = 1
    required: bool = True
    shareable: bool = False
    note: str = ""


@dataclass(frozen=True)
class SituationData:
    """A situation (情形) with its conditions and materials."""

    name: str
    conditions: str = ""
    materials: tuple[MaterialData, ...] = ()


@dataclass(frozen=True)
class FeeData:
    """A fee with its basis (收费依据)."""

    name: str
    amount_yuan: float | None = None
    basis: str = ""


@dataclass(frozen=True)
class ChecklistData:
    """What the one-time checklist slip (一次性告知单) shows for one item: the catalog's facts (legal and fee
    basis, 中介服务, 前置许可, 办理对象, the item's own window or the village point) and its situations."""

    item_name: str
    situations: tuple[SituationData, ...]
    item_code: str = ""
    department: str = ""
    statutory_text: str = ""
    promised_text: str = ""
    fees: tuple[FeeData, ...] = ()
    fee_basis: tuple[str, ...] = ()
    legal_basis: tuple[str, ...] = ()
    intermediaries: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    place: str | None = None
    village_points: tuple[str, ...] = ()
    online_level: str = ""
    url: str | None = None
    site_name: str | None = None
    hotline: str | None = None


@dataclass(frozen=True)
class TicketData:
    """A queue ticket (取号): number, category, people waiting, green channel (绿色通道) flag."""

    number: str
    category_name: str
    waiting: int | None = None
    green: bool = False
    cases: int = 1
    floor: int | None = None
    window_hint: str | None = None
    site_name: str | None = None
    issued_at: str | None = None


@dataclass(frozen=True)
class ComplaintData:
    """The receipt of a 催办 (urge) or 投诉 (complaint): central's receipt number and when to expect an answer."""

    kind: str  # urge | complaint
    receipt_no: str
    query_code: str
    item_name: str
    category: str
    received_at: str
    reply_within_days: int | None
    hotline: str
    site_name: str | None = None

    @property
    def title(self) -> str:
        return "催办回执" if self.kind == "urge" else "投诉受理回执"
