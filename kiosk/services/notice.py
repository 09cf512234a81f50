"""The notice a submission gives, as ONE typed value built by the service: the acceptance notice
(受理通知书, central accepted the case), the pre-review receipt (预审回执, materials still to be checked at a
window: no promised date) or, offline, the receipt marked 已提交，待平台确认. The printed layout
(`kiosk.receipts.acceptance_notice`), the reprint archive (`to_record`/`from_record`) and the page's JSON
(`page_view`) are views of this value; it holds masked personal data only."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge_sync.querycode import format_query_code, receipt_url
from kiosk.catalog.model import PICKUP_LABELS


class NoticeStage(StrEnum):
    """How far central has taken a case when its notice is printed (weakest first)."""

    PENDING = "pending"        # committed on this terminal; central not reached yet
    PRE_REVIEW = "pre_review"  # central received it; originals to be checked at a window before 受理
    ACCEPTED = "accepted"      # central accepted it (受理): case number and promised date hold


STAGE_TITLES = {NoticeStage.ACCEPTED: "受理通知书", NoticeStage.PRE_REVIEW: "预审回执",
                NoticeStage.PENDING: "申请回执"}
PENDING_MARK = "已提交，待平台确认"
ORDER = (NoticeStage.PENDING, NoticeStage.PRE_REVIEW, NoticeStage.ACCEPTED)


def time_limit_text(days: int) -> str:
    """0 working days is 即办 (done on the spot)."""
    return "即办" if days == 0 else f"{days}个工作日"


@dataclass(frozen=True)
class PickupPlace:
    """How and where the result is picked up; ``place`` is already masked (a mail address keeps its
    first characters only) because it is shown and printed."""

    method: str
    place: str

    @property
    def label(self) -> str:
        return PICKUP_LABELS.get(self.method, self.method)


@dataclass(frozen=True)
class NoticeCase:
    """One case on a notice (a 一件事一次办 notice lists several)."""

    item_code: str
    item_name: str
    situation_name: str
    authority: str  # 受理机关
    query_code: str
    case_no: str | None
    stage: NoticeStage
    promised_days: int
    promised_by: str | None
    originals: tuple[str, ...]
    pickup: PickupPlace

    @property
    def query_code_display(self) -> str:
        return format_query_code(self.query_code)

    @property
    def url(self) -> str:
        return receipt_url(self.query_code)

    def promised_text(self) -> str | None:
        """「2个工作日（2026-11-26前）」or 即办 once accepted; None before (no promise yet)."""
        if self.stage is not NoticeStage.ACCEPTED:
            return None
        limit = time_limit_text(self.promised_days)
        return f"{limit}（{self.promised_by}前）" if self.promised_by and self.promised_days else limit


@dataclass(frozen=True)
class Notice:
    """What a submission gives the applicant: its cases, masked applicant, where and when."""

    cases: tuple[NoticeCase, ...]
    applicant_masked: str
    site_name: str
    hotline: str
    submitted_at: str | None
    channel: str
    agent_masked: str | None = None
    bundle_name: str | None = None

    @property
    def stage(self) -> NoticeStage:
        """The weakest stage of its cases: a notice is an acceptance notice only if every case is accepted."""
        return min((c.stage for c in self.cases), key=ORDER.index)

    @property
    def title(self) -> str:
        return STAGE_TITLES[self.stage]

    @property
    def query_codes(self) -> tuple[str, ...]:
        return tuple(c.query_code for c in self.cases)

    def page_view(self) -> dict[str, Any]:
        """The JSON the page shows; the first case's fields also at the top for single-item screens."""
        cases = [{"item_code": c.item_code, "item_name": c.item_name, "situation_name": c.situation_name,
                  "authority": c.authority, "query_code": c.query_code, "query_code_display": c.query_code_display,
                  "case_no": c.case_no, "stage": c.stage.value, "stage_title": STAGE_TITLES[c.stage],
                  "promised_days": c.promised_days, "promised_by": c.promised_by if c.promised_text() else None,
                  "promised_text": c.promised_text(),
                  "pickup": {"method": c.pickup.method, "label": c.pickup.label, "place": c.pickup.place},
                  "originals": list(c.originals)} for c in self.cases]
        first = cases[0]
        return {"stage": self.stage.value, "title": self.title, "mark": PENDING_MARK if self.stage is
                NoticeStage.PENDING else None, "submitted_at": self.submitted_at,
                "applicant_masked": self.applicant_masked, "agent_masked": self.agent_masked,
                "site_name": self.site_name, "hotline": self.hotline, "bundle_name": self.bundle_name,
                "channel": self.channel, "cases": cases,
                **{k: first[k] for k in ("query_code", "query_code_display", "case_no", "promised_by",
                                          "promised_text", "item_name")}}

    def to_record(self) -> dict[str, Any]:
        """The archive's form (JSON-safe); :meth:`from_record` reads it back."""
        return {"cases": [{"item_code": c.item_code, "item_name": c.item_name, "situation_name": c.situation_name,
                           "authority": c.authority, "query_code": c.query_code, "case_no": c.case_no,
                           "stage": c.stage.value, "promised_days": c.promised_days, "promised_by": c.promised_by,
                           "originals": list(c.originals), "pickup": {"method": c.pickup.method,
                                                                       "place": c.pickup.place}}
                          for c in self.cases],
                "applicant_masked": self.applicant_masked, "site_name": self.site_name, "hotline": self.hotline,
                "submitted_at": self.submitted_at, "channel": self.channel, "agent_masked": self.agent_masked,
                "bundle_name": self.bundle_name}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Notice:
        """Raises ValueError (KeyError, TypeError included) for a record this version cannot read."""
        try:
            cases = tuple(NoticeCase(
                item_code=_str(c["item_code"]), item_name=_str(c["item_name"]),
                situation_name=_str(c["situation_name"]), authority=_str(c["authority"]),
                query_code=_str(c["query_code"]), case_no=_opt(c["case_no"]), stage=NoticeStage(c["stage"]),
                promised_days=int(c["promised_days"]), promised_by=_opt(c["promised_by"]),
                originals=tuple(_str(o) for o in c["originals"]),
                pickup=PickupPlace(_str(c["pickup"]["method"]), _str(c["pickup"]["place"])))
                for c in record["cases"])
            if not cases:
                raise ValueError("a notice without cases")
            return cls(cases=cases, applicant_masked=_str(record["applicant_masked"]),
                       site_name=_str(record["site_name"]), hotline=_str(record["hotline"]),
                       submitted_at=_opt(record["submitted_at"]), channel=_str(record["channel"]),
                       agent_masked=_opt(record["agent_masked"]), bundle_name=_opt(record["bundle_name"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"notice record unreadable: {type(exc).__name__} {exc}") from None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a text")
    return value


def _opt(value: Any) -> str | None:
    return None if value is None else _str(value)
