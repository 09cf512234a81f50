"""Parsing of the optional service fields of the catalog JSON (`kiosk.catalog.details`): per item and
situation, and the catalog's village points and bundles. Raises CatalogError naming the entry at fault."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.catalog.details import (
    ID_TYPES,
    NO_SERVICE_FIELDS,
    Bundle,
    BundleItem,
    CatalogExtras,
    ItemWindow,
    ServiceFields,
    SituationRule,
    VillagePoint,
)
from kiosk.catalog.model import CatalogError, label


def _texts(raw: Mapping[str, Any], name: str, where: str, limit: int = 300) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: field {name!r} must be a list of texts")
    return tuple(v[:limit] for v in value)


def _opt_int(raw: Mapping[str, Any], name: str, where: str) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 200:
        raise CatalogError(f"{where}: field {name!r} must be a whole number 0–200")
    return value


def _text(raw: Mapping[str, Any], name: str, where: str, limit: int = 200, required: bool = True) -> str:
    value = raw.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise CatalogError(f"{where}: field {name!r} is missing or not a text")
    return value[:limit]


def _window(raw: Any, where: str) -> ItemWindow | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: field 'window' must be an object")
    floor = _opt_int(raw, "floor", where)
    windows = raw.get("windows", "")
    if isinstance(windows, list):
        windows = "、".join(str(w) for w in windows[:20])
    return ItemWindow(_text(raw, "name", where, 60), floor, str(windows)[:60])


def _situation_rules(raw_situations: Any, where: str) -> dict[str, SituationRule]:
    rules: dict[str, SituationRule] = {}
    for s in raw_situations if isinstance(raw_situations, list) else ():
        if not isinstance(s, dict) or not any(k in s for k in ("min_age", "max_age", "id_types", "authorization")):
            continue
        s_where = f"{where} situation {label(s.get('code', '?'))}"
        id_types = _texts(s, "id_types", s_where)
        if any(t not in ID_TYPES for t in id_types):
            raise CatalogError(f"{s_where}: id_types must be among {', '.join(ID_TYPES)}")
        authorization = s.get("authorization")
        if authorization is not None and not (isinstance(authorization, str) and 0 < len(authorization) <= 20):
            raise CatalogError(f"{s_where}: authorization must be the code of a material")
        rules[str(s.get("code"))] = SituationRule(_opt_int(s, "min_age", s_where), _opt_int(s, "max_age", s_where),
                                                  id_types, authorization)
    return rules


def parse_service_fields(raw: Mapping[str, Any], where: str) -> ServiceFields:
    """The optional fields of an item's JSON object. Raises CatalogError naming the item and field."""
    keys = ("fee_basis", "intermediary_services", "prerequisites", "targets", "window", "village", "window_check")
    online_check = raw.get("online_level") == "网上预审"  # 网上预审: the window checks before it accepts
    rules = _situation_rules(raw.get("situations"), where)
    if not rules and not online_check and not any(k in raw for k in keys):
        return NO_SERVICE_FIELDS  # most items: one shared empty value, nothing per item kept in memory
    window_check = raw.get("window_check", online_check)
    if not isinstance(window_check, bool) or not isinstance(raw.get("village", False), bool):
        raise CatalogError(f"{where}: fields 'window_check' and 'village' must be true or false")
    return ServiceFields(fee_basis=_texts(raw, "fee_basis", where), intermediaries=_texts(raw, "intermediary_services",
                                                                                         where),
                       prerequisites=_texts(raw, "prerequisites", where), targets=_texts(raw, "targets", where, 40),
                       window=_window(raw.get("window"), where), village=bool(raw.get("village", False)),
                       window_check=window_check, situation_rules=rules)


def parse_extras(raw: Mapping[str, Any]) -> CatalogExtras:
    """Village points and bundles of a catalog JSON object. Raises CatalogError naming the entry at fault."""
    points = []
    for p in _list(raw, "village_points"):
        where = f"village point {label(p.get('code', '?')) if isinstance(p, dict) else '?'}"
        if not isinstance(p, dict):
            raise CatalogError(f"{where}: is not an object")
        points.append(VillagePoint(_text(p, "code", where, 40), _text(p, "name", where, 60),
                                   _text(p, "village", where, 60), _text(p, "hall", where, 40),
                                   _text(p, "address", where, 120, required=False),
                                   _text(p, "hours", where, 60, required=False)))
    bundles = []
    for b in _list(raw, "bundles"):
        where = f"bundle {label(b.get('code', '?')) if isinstance(b, dict) else '?'}"
        if not isinstance(b, dict) or not isinstance(b.get("items"), list) or len(b["items"]) < 2:
            raise CatalogError(f"{where}: needs an 'items' list of at least two items")
        items = tuple(BundleItem(_text(i, "item", where, 64), _text(i, "situation", where, 20))
                      for i in b["items"] if isinstance(i, dict))
        if len(items) != len(b["items"]):
            raise CatalogError(f"{where}: every entry of 'items' must be an object with item and situation")
        bundles.append(Bundle(_text(b, "code", where, 20), _text(b, "name", where, 60), items,
                              _text(b, "description", where, 300, required=False)))
    return CatalogExtras(tuple(points), tuple(bundles))


def _list(raw: Mapping[str, Any], name: str) -> list[Any]:
    value = raw.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise CatalogError(f"catalog: field {name!r} must be a list")
    return value
