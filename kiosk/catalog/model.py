"""The catalog of items (事项目录) as typed values, parsed from the JSON central publishes (contract §9)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class CatalogError(ValueError):
    """The catalog JSON is not usable: the message names the item and field at fault."""


LABEL_MAX = 40


def label(value: Any, limit: int = LABEL_MAX) -> str:
    """A catalog value as it may appear in an error message: control characters escaped and cut to
    ``limit`` characters, so a hostile 100 000-character code cannot flood the log (or drive the terminal)."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in text[:limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


class MaterialForm(StrEnum):
    """How a material is handed in: 原件 (original) or 复印件 (copy)."""

    ORIGINAL = "原件"
    COPY = "复印件"


class PickupMethod(StrEnum):
    WINDOW = "window"
    MAIL = "mail"
    VILLAGE_POINT = "village_point"


PICKUP_LABELS = {"window": "窗口领取", "mail": "邮寄送达", "village_point": "村（社区）便民服务点领取"}
# Items whose online level lets a citizen apply at the terminal by themselves (self-service).
SELF_SERVICE_LEVELS = frozenset({"全程网办", "网上预审"})


@dataclass(frozen=True, slots=True)
class Material:
    """One required document (要件材料) of a situation."""

    code: str
    name: str
    form: str
    copies: int
    required: bool
    shareable: bool  # the platform already holds it: 免提交
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "form": self.form, "copies": self.copies,
                "required": self.required, "shareable": self.shareable, "note": self.note}


@dataclass(frozen=True, slots=True)
class Situation:
    """A case variant of an item (情形) with its own conditions and materials."""

    code: str
    name: str
    conditions: str
    materials: tuple[Material, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "conditions": self.conditions,
                "materials": [m.to_dict() for m in self.materials]}


@dataclass(eq=False)
class Item:
    """An administrative item (事项) of the catalog. Its situations may be parsed on first use (a catalog
    already validated at install loads faster that way); ``situations`` then raises CatalogError."""

    code: str
    name: str
    kind: str
    department: str
    category: str
    themes: tuple[str, ...]
    legal_basis: tuple[str, ...]
    statutory_days: int
    promised_days: int
    fees: tuple[dict[str, Any], ...]
    online_level: str
    visits_required: int
    agent_allowed: bool
    pickup_methods: tuple[str, ...]
    steps: tuple[dict[str, Any], ...]
    faq: tuple[dict[str, str], ...]
    raw_situations: list[Any] = field(default_factory=list, repr=False)
    parsed: tuple[Situation, ...] | None = field(default=None, repr=False)

    @property
    def situations(self) -> tuple[Situation, ...]:
        if self.parsed is None:
            self.parsed = parse_situations(self.raw_situations, f"item {self.code}")
        return self.parsed

    def texts(self) -> list[str]:
        """Situation and material names (for the search index) without parsing the situations."""
        out: list[str] = []
        for s in self.raw_situations:
            if isinstance(s, dict):
                if isinstance(s.get("name"), str):
                    out.append(s["name"])
                for m in s.get("materials") or ():
                    if isinstance(m, dict) and isinstance(m.get("name"), str):
                        out.append(m["name"])
        return out

    @property
    def self_service(self) -> bool:
        return self.online_level in SELF_SERVICE_LEVELS

    def situation(self, code: str) -> Situation | None:
        return next((s for s in self.situations if s.code == code), None)

    def summary(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "category": self.category, "department": self.department,
                "promised_days": self.promised_days, "online_level": self.online_level}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "kind": self.kind, "themes": list(self.themes),
                "legal_basis": list(self.legal_basis), "statutory_days": self.statutory_days,
                "fees": list(self.fees), "visits_required": self.visits_required,
                "agent_allowed": self.agent_allowed, "self_service": self.self_service,
                "pickup_methods": [{"method": p, "label": PICKUP_LABELS.get(p, p)} for p in self.pickup_methods],
                "steps": list(self.steps), "situations": [s.to_dict() for s in self.situations],
                "faq": list(self.faq)}


def _field(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict):
        raise CatalogError(f"{where}: is not an object")
    if name not in obj:
        raise CatalogError(f"{where}: field {name!r} is missing")
    value = obj[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CatalogError(f"{where}: field {name!r} has the wrong type {type(value).__name__}")
    return value


def _text(obj: dict[str, Any], name: str, where: str, limit: int = 2000) -> str:
    value = _field(obj, name, str, where)
    if len(value) > limit:
        raise CatalogError(f"{where}: field {name!r} is longer than {limit} characters")
    return value


def _parse_material_checked(raw: dict[str, Any], where: str) -> Material:
    return Material(code=_text(raw, "code", where, 20), name=_text(raw, "name", where, 200),
                    form=_text(raw, "form", where, 20), copies=_field(raw, "copies", int, where),
                    required=bool(raw.get("required", True)), shareable=bool(raw.get("shareable", False)),
                    note=str(raw.get("note", ""))[:500])


def parse_material(raw: dict[str, Any], where: str) -> Material:
    """A material from JSON; a catalog has tens of thousands, so the common case is checked inline and
    only a faulty entry goes through the field-by-field checks that name the fault (CatalogError)."""
    try:
        code, name, form, copies = raw["code"], raw["name"], raw["form"], raw["copies"]
        ok = (type(code) is str and type(name) is str and type(form) is str and type(copies) is int
              and len(code) <= 20 and len(name) <= 200 and len(form) <= 20)
    except (KeyError, TypeError):
        ok = False
    if not ok:
        return _parse_material_checked(raw, where)
    note = raw.get("note", "")
    return Material(code, name, form, copies, bool(raw.get("required", True)), bool(raw.get("shareable", False)),
                    note[:500] if type(note) is str else str(note)[:500])


def _int(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise CatalogError(f"{where}: field {name!r} is not a whole number")
    try:
        return int(value)
    except ValueError:
        raise CatalogError(f"{where}: field {name!r} is not a whole number") from None


def parse_situations(raw: Any, where: str) -> tuple[Situation, ...]:
    """Situations with their materials. Raises CatalogError naming the item, situation and field."""
    if not isinstance(raw, list) or not raw:
        raise CatalogError(f"{where}: has no situation")
    situations = []
    for s in raw:
        s_where = f"{where} situation {label(s.get('code', '?')) if isinstance(s, dict) else '?'}"
        materials = tuple(parse_material(m, f"{s_where} material") for m in _field(s, "materials", list, s_where))
        situations.append(Situation(code=_text(s, "code", s_where, 20), name=_text(s, "name", s_where, 200),
                                    conditions=str(s.get("conditions", ""))[:2000], materials=materials))
    return tuple(situations)


def parse_item(raw: dict[str, Any], lazy: bool = False) -> Item:
    """Build an Item from its JSON object; with ``lazy`` the situations are checked only on first use.
    Raises CatalogError naming the item and field at fault."""
    where = f"item {label(raw.get('code', '?')) if isinstance(raw, dict) else '?'}"
    raw_situations = _field(raw, "situations", list, where)
    parsed = None if lazy else parse_situations(raw_situations, where)
    if lazy and not raw_situations:
        raise CatalogError(f"{where}: has no situation")
    steps = tuple({"code": str(st.get("code", "")), "name": str(st.get("name", ""))[:100],
                   "limit_days": _int(st.get("limit_days", 0), where, "limit_days")}
                  for st in _field(raw, "steps", list, where) if isinstance(st, dict))
    faq = tuple({"q": str(f.get("q", ""))[:500], "a": str(f.get("a", ""))[:2000]}
                for f in _list(raw, "faq") if isinstance(f, dict))
    fees = tuple(f for f in _list(raw, "fees") if isinstance(f, dict))
    statutory = _field(raw, "statutory_days", int, where)
    promised = _field(raw, "promised_days", int, where)
    if not 0 <= promised <= statutory <= 3650:
        raise CatalogError(f"{where}: promised_days {promised} / statutory_days {statutory} out of order")
    return Item(code=_text(raw, "code", where, 64), name=_text(raw, "name", where, 200),
                kind=str(raw.get("kind", "")), department=_text(raw, "department", where, 40),
                category=_text(raw, "category", where, 10),
                themes=tuple(str(t) for t in _list(raw, "themes")),
                legal_basis=tuple(str(b)[:500] for b in _list(raw, "legal_basis")),
                statutory_days=statutory, promised_days=promised, fees=fees,
                online_level=str(raw.get("online_level", "窗口办理")),
                visits_required=_int(raw.get("visits_required", 1), where, "visits_required"),
                agent_allowed=bool(raw.get("agent_allowed", False)),
                pickup_methods=tuple(str(p) for p in _list(raw, "pickup_methods") or ["window"]),
                steps=steps, faq=faq, raw_situations=raw_situations, parsed=parsed)


def _list(raw: dict[str, Any], name: str) -> list[Any]:
    value = raw.get(name)
    return value if isinstance(value, list) else []
