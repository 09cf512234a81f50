"""What the catalog says about an item, as the services show and print it: where it is handled (its own
window and floor, else its category's; village items also at the village points), time limits with 0
days read as 即办, legal and fee basis, 中介服务, 前置许可, 办理对象 — for the item page, the checklist slip
and the notice."""
from __future__ import annotations

from typing import Any

from edge_sync.querycode import NOTICE_HOST
from kiosk.catalog import Catalog, Item
from kiosk.catalog.details import VillagePoint
from kiosk.receipts.data import ChecklistData, FeeData, MaterialData, SituationData
from kiosk.services import Settings
from kiosk.services.notice import time_limit_text

ITEM_URL = f"https://{NOTICE_HOST}/item/"


def window_place(catalog: Catalog, item: Item) -> str:
    """「企业开办专区 2楼 13–16号窗口」: the item's own window, else its category's range."""
    window = item.details.service.window
    if window is not None:
        return window.text()
    category = catalog.categories.get(item.category)
    if category is None:
        return item.category
    # An ASCII hyphen: every printer's 2-byte font has it (an en dash would print as a raster band).
    windows = f"{category.windows[0]}-{category.windows[-1]}号窗口" if category.windows else ""
    return " ".join(p for p in (category.name, f"{category.floor}楼", windows) if p)


def village_points(catalog: Catalog, settings: Settings) -> tuple[VillagePoint, ...]:
    """The village points this terminal offers (its own, or its hall's)."""
    return catalog.extras.points_for_site(settings.site_id)


def point_view(point: VillagePoint) -> dict[str, str]:
    return {"code": point.code, "name": point.name, "village": point.village, "address": point.address,
            "hours": point.hours}


def fees(item: Item) -> tuple[FeeData, ...]:
    out = []
    for fee in item.fees:
        amount = fee.get("amount_yuan")
        yuan = float(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool) else None
        out.append(FeeData(str(fee.get("name", ""))[:80], yuan,
                           str(fee.get("basis", ""))[:300]))
    return tuple(out)


def facts(catalog: Catalog, item: Item, settings: Settings) -> dict[str, Any]:
    """The catalog fields the item page shows (issue 11): basis, 中介服务, 前置许可, 办理对象, place, 即办."""
    d = item.details.service
    points = village_points(catalog, settings) if d.village else ()
    return {"legal_basis": list(item.legal_basis),
            "fee_basis": list(dict.fromkeys((*d.fee_basis, *(f.basis for f in fees(item) if f.basis)))),
            "intermediaries": list(d.intermediaries), "prerequisites": list(d.prerequisites),
            "targets": list(d.targets), "place": window_place(catalog, item),
            "village": d.village, "village_points": [point_view(p) for p in points],
            "window_check": d.window_check,
            "promised_text": time_limit_text(item.promised_days),
            "statutory_text": time_limit_text(item.statutory_days)}


def checklist(catalog: Catalog, item: Item, situation: str | None, settings: Settings) -> ChecklistData:
    """The one-time checklist slip of an item (all situations, or one). Raises LookupError for an unknown
    situation."""
    situations = [s for s in item.situations if situation in (None, "", s.code)]
    if not situations:
        raise LookupError(situation)
    d = item.details.service
    points = village_points(catalog, settings) if d.village else ()
    return ChecklistData(
        item_name=item.name, item_code=item.code,
        situations=tuple(SituationData(s.name, s.conditions, tuple(
            MaterialData(m.name, m.form, m.copies, m.required, m.shareable, m.note) for m in s.materials))
            for s in situations),
        department=catalog.departments.get(item.department, item.department),
        statutory_text=time_limit_text(item.statutory_days), promised_text=time_limit_text(item.promised_days),
        fees=fees(item), fee_basis=d.fee_basis, legal_basis=item.legal_basis, intermediaries=d.intermediaries,
        prerequisites=d.prerequisites, targets=d.targets, place=window_place(catalog, item),
        village_points=tuple(p.text() for p in points), online_level=item.online_level,
        url=ITEM_URL + item.code, site_name=settings.site_name, hotline=settings.hotline)
