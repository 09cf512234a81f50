"""Plain data of each receipt (dataclasses), buildable from the dicts the services pass around.
Personal data is masked here, whatever the caller hands in (DESIGN §5)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from drivers.masking import mask_id_number, mask_name

T = TypeVar("T")


def _pick(cls: type[T], data: Mapping[str, Any], **renames: str) -> T:
    """Builds ``cls`` from ``data``, keeping only its fields (``renames`` maps field → key in data)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {name: data[renames.get(name, name)] for name in names if renames.get(name, name) in data}
    return cls(**values)


@dataclass(frozen=True)
class NoticeData:
    """What an acceptance notice (受理通知书) shows. ``online`` False prints the variant marked
    "已提交，待平台确认" without a case number. ``query_code`` is canonical (17 symbols).
    ``applicant`` and ``id_number`` are masked when printed (raw or already masked both work)."""

    item_name: str
    applicant: str
    query_code: str
    online: bool = True
    case_no: str | None = None
    situation_name: str | None = None
    id_number: str | None = None
    submitted_at: str | None = None
    promised_by: str | None = None
    pickup: str | None = None
    window: str | Mapping[str, Any] | None = None
    hotline: str | None = None
    site_name: str | None = None
    agent_name: str | None = None

    @property
    def applicant_masked(self) -> str:
        return mask_name(self.applicant)

    @property
    def id_number_masked(self) -> str | None:
        return mask_id_number(self.id_number) if self.id_number else None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> NoticeData:
        """From the submit service's notice dict (``kind`` online/offline, ``applicant_masked``…)."""
        values = dict(data)
        if "kind" in values and "online" not in values:
            values["online"] = values["kind"] == "online"
        if "applicant" not in values:
            values["applicant"] = values.get("applicant_masked") or values.get("applicant_name") or ""
        if "id_number" not in values:
            values["id_number"] = values.get("id_number_masked")
        return _pick(cls, values)


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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SituationData:
        materials = tuple(m if isinstance(m, MaterialData) else _pick(MaterialData, m)
                          for m in data.get("materials", ()))
        return cls(name=data.get("name", ""), conditions=data.get("conditions", ""), materials=materials)


@dataclass(frozen=True)
class ChecklistData:
    """What the one-time checklist slip (一次性告知单) shows for one item. ``fees`` are dicts with
    ``name`` and ``amount_yuan``; ``window`` a text or the catalog's {name, floor, windows} dict."""

    item_name: str
    situations: tuple[SituationData, ...]
    item_code: str = ""
    department: str = ""
    statutory_days: int | None = None
    promised_days: int | None = None
    fees: tuple[Mapping[str, Any], ...] = ()
    window: str | Mapping[str, Any] | None = None
    online_level: str = ""
    url: str | None = None
    site_name: str | None = None
    hotline: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ChecklistData:
        values = dict(data)
        values["situations"] = tuple(s if isinstance(s, SituationData) else SituationData.from_mapping(s)
                                     for s in data.get("situations", ()))
        values["fees"] = tuple(data.get("fees", ()))
        return _pick(cls, values)


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

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TicketData:
        return _pick(cls, data)


def as_data(cls: type[T], data: T | Mapping[str, Any]) -> T:
    """``data`` itself when it already is a ``cls``, else ``cls.from_mapping(data)``."""
    return data if isinstance(data, cls) else cls.from_mapping(data)  # type: ignore[attr-defined]


