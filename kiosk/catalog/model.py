"""The catalog of items (事项目录) as typed values, parsed from the JSON central publishes (contract §9)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from kiosk.catalog.details import NO_SERVICE_FIELDS, ServiceFields


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


@dataclass(frozen=True, slots=True)
class ItemDetails:
    """The long parts of an item, read only when its page is opened (a catalog of thousands keeps only
    the summaries in memory)."""

    legal_basis: tuple[str, ...]
    fees: tuple[dict[str, Any], ...]
    steps: tuple[dict[str, Any], ...]
    faq: tuple[dict[str, str], ...]
    situations: tuple[Situation, ...]
    service: ServiceFields = NO_SERVICE_FIELDS  # window, village, window check, conditions (details.py)


class DetailSource(Protocol):
    """Where an item's details come from: the catalog JSON in memory, or the compiled catalog on disk."""

    def details(self, code: str) -> ItemDetails:
        """Raises CatalogError when the details are faulty or unreadable."""
        ...


class NoDetails:
    """The source of an item built alone (``parse_item`` without a source): it has no details."""

    def details(self, code: str) -> ItemDetails:
        raise CatalogError(f"item {label(code)}: details not loaded")


@dataclass(eq=False, slots=True)
class Item:
    """An administrative item (事项) of the catalog: its summary in memory, its details (situations,
    materials, steps, fees, FAQ) from ``source`` on use, which raises CatalogError for faulty ones."""

    code: str
    name: str
    kind: str
    department: str
    category: str
    themes: tuple[str, ...]
    aliases: tuple[str, ...]  # 别名: other names people use for the item
    statutory_days: int
    promised_days: int
    online_level: str
    visits_required: int
    agent_allowed: bool
    pickup_methods: tuple[str, ...]
    source: DetailSource = field(default_factory=NoDetails, repr=False)

    @property
    def details(self) -> ItemDetails:
        return self.source.details(self.code)

    @property
    def situations(self) -> tuple[Situation, ...]:
        return self.details.situations

    @property
    def legal_basis(self) -> tuple[str, ...]:
        return self.details.legal_basis

    @property
    def fees(self) -> tuple[dict[str, Any], ...]:
        return self.details.fees

    @property
    def steps(self) -> tuple[dict[str, Any], ...]:
        return self.details.steps

    @property
    def faq(self) -> tuple[dict[str, str], ...]:
        return self.details.faq

    @property
    def self_service(self) -> bool:
        return self.online_level in SELF_SERVICE_LEVELS

    def situation(self, code: str) -> Situation | None:
        return next((s for s in self.situations if s.code == code), None)

    def summary(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "category": self.category, "department": self.department,
                "promised_days": self.promised_days, "online_level": self.online_level}

    def to_dict(self) -> dict[str, Any]:
        d = self.details
        return {**self.summary(), "kind": self.kind, "themes": list(self.themes), "aliases": list(self.aliases),
                "legal_basis": list(d.legal_basis), "statutory_days": self.statutory_days,
                "fees": list(d.fees), "visits_required": self.visits_required,
                "agent_allowed": self.agent_allowed, "self_service": self.self_service,
                "pickup_methods": [{"method": p, "label": PICKUP_LABELS.get(p, p)} for p in self.pickup_methods],
                "steps": list(d.steps), "situations": [s.to_dict() for s in d.situations],
                "faq": list(d.faq)}


def situation_texts(raw: dict[str, Any]) -> list[str]:
    """Situation and material names of a raw item (for the search index) without parsing the situations."""
    out: list[str] = []
    situations = raw.get("situations") if isinstance(raw, dict) else None
    for s in situations if isinstance(situations, list) else ():
        if isinstance(s, dict):
            if isinstance(s.get("name"), str):
                out.append(s["name"])
            materials = s.get("materials")
            for m in materials if isinstance(materials, list) else ():
                if isinstance(m, dict) and isinstance(m.get("name"), str):
                    out.append(m["name"])
    return out


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


ALIASES_MAX = 20
ALIAS_MAX = 40


def parse_details(raw: dict[str, Any], where: str) -> ItemDetails:
    """Situations, steps, FAQ, fees and legal basis. Raises CatalogError naming the item and field."""
    steps = tuple({"code": str(st.get("code", "")), "name": str(st.get("name", ""))[:100],
                   "limit_days": _int(st.get("limit_days", 0), where, "limit_days")}
                  for st in _field(raw, "steps", list, where) if isinstance(st, dict))
    faq = tuple({"q": str(f.get("q", ""))[:500], "a": str(f.get("a", ""))[:2000]}
                for f in _list(raw, "faq") if isinstance(f, dict))
    fees = tuple(f for f in _list(raw, "fees") if isinstance(f, dict))
    legal = tuple(str(b)[:500] for b in _list(raw, "legal_basis"))
    from kiosk.catalog.extras import parse_service_fields  # extras imports this module

    return ItemDetails(legal, fees, steps, faq, parse_situations(raw.get("situations"), where),
                       parse_service_fields(raw, where))


def _aliases(raw: dict[str, Any]) -> tuple[str, ...]:
    """The optional ``aliases`` field, tolerantly: printable strings only, each cut to ALIAS_MAX
    characters, at most ALIASES_MAX; anything else in it is ignored (an alias only helps search)."""
    out: list[str] = []
    for a in _list(raw, "aliases"):
        if isinstance(a, str):
            text = "".join(c for c in a[:ALIAS_MAX * 2] if c.isprintable()).strip()[:ALIAS_MAX]
            if text and text not in out and len(out) < ALIASES_MAX:
                out.append(text)
    return tuple(out)


def parse_item(raw: dict[str, Any], source: DetailSource | None = None) -> Item:
    """An item's summary from its JSON object; its details come from ``source`` (default: none). The
    summary is checked here, the details by ``parse_details``. Raises CatalogError naming the item and
    field at fault."""
    where = f"item {label(raw.get('code', '?')) if isinstance(raw, dict) else '?'}"
    situations = _field(raw, "situations", list, where)
    if not situations:
        raise CatalogError(f"{where}: has no situation")
    _field(raw, "steps", list, where)
    statutory = _field(raw, "statutory_days", int, where)
    promised = _field(raw, "promised_days", int, where)
    if not 0 <= promised <= statutory <= 3650:
        raise CatalogError(f"{where}: promised_days {promised} / statutory_days {statutory} out of order")
    return Item(code=_text(raw, "code", where, 64), name=_text(raw, "name", where, 200),
                kind=str(raw.get("kind", "")), department=_text(raw, "department", where, 40),
                category=_text(raw, "category", where, 10),
                themes=tuple(str(t) for t in _list(raw, "themes")), aliases=_aliases(raw),
                statutory_days=statutory, promised_days=promised,
                online_level=str(raw.get("online_level", "窗口办理")),
                visits_required=_int(raw.get("visits_required", 1), where, "visits_required"),
                agent_allowed=bool(raw.get("agent_allowed", False)),
                pickup_methods=tuple(str(p) for p in _list(raw, "pickup_methods") or ["window"]),
                source=source or NoDetails())


def _list(raw: dict[str, Any], name: str) -> list[Any]:
    value = raw.get(name)
    return value if isinstance(value, list) else []
