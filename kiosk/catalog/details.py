"""Catalog fields the hall's services need beyond the browse lists: per item its legal and fee basis,
intermediary services (中介服务), prior permits (前置许可), who may apply (办理对象), its own window, whether
it is handled at village points and whether a window checks its materials first (预审); per situation the
machine-checkable conditions; per catalog the village service points (村便民服务点) and the bundles of
related items (一件事一次办). Values only: `kiosk.catalog.extras` parses them. Every field is optional: a
catalog without them still loads."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ID_TYPES = ("resident", "hmt_permit", "foreigner")


@dataclass(frozen=True, slots=True)
class ItemWindow:
    """Where an item is handled in the hall when it names its own window (else its category's)."""

    name: str
    floor: int | None = None
    windows: str = ""

    def text(self) -> str:
        """「食品经营许可专窗 2楼 15号窗口」."""
        parts = [self.name]
        if self.floor:
            parts.append(f"{self.floor}楼")
        if self.windows:
            parts.append(f"{self.windows}号窗口")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class SituationRule:
    """Conditions of a situation (情形) a machine can check: age from the ID card and the card type; and
    ``authorization``, the material carrying the signed power of attorney (授权委托书) that a village agent
    must capture when applying for someone else."""

    min_age: int | None = None
    max_age: int | None = None
    id_types: tuple[str, ...] = ()
    authorization: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceFields:
    """The optional service fields of one item (part of its details). ``window_check``: materials are checked
    at a window before the case is accepted, so the terminal gives a pre-review receipt (预审回执) instead of an
    acceptance notice."""

    fee_basis: tuple[str, ...] = ()
    intermediaries: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    window: ItemWindow | None = None
    village: bool = False
    window_check: bool = False
    situation_rules: Mapping[str, SituationRule] = field(default_factory=dict)

    def rule(self, situation: str) -> SituationRule:
        return self.situation_rules.get(situation, NO_RULE)


NO_RULE = SituationRule()
NO_SERVICE_FIELDS = ServiceFields()


@dataclass(frozen=True, slots=True)
class VillagePoint:
    """A village service point (村便民服务点): ``hall`` is the site id of the hall it belongs to; a village
    terminal's own site id is the point's ``code``."""

    code: str
    name: str
    village: str
    hall: str
    address: str = ""
    hours: str = ""

    def text(self) -> str:
        return f"{self.name}（{self.address}）" if self.address else self.name


@dataclass(frozen=True, slots=True)
class BundleItem:
    item: str
    situation: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """一件事一次办: related items applied for in one submission; one case per item."""

    code: str
    name: str
    items: tuple[BundleItem, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class CatalogExtras:
    village_points: tuple[VillagePoint, ...] = ()
    bundles: tuple[Bundle, ...] = ()

    def points_for_site(self, site: str) -> tuple[VillagePoint, ...]:
        """The village points a terminal offers for pickup: its own point (village terminal) or those of
        its hall."""
        own = tuple(p for p in self.village_points if p.code == site)
        return own or tuple(p for p in self.village_points if p.hall == site)

    def point(self, code: str) -> VillagePoint | None:
        return next((p for p in self.village_points if p.code == code), None)

    def bundle(self, code: str) -> Bundle | None:
        return next((b for b in self.bundles if b.code == code), None)


NO_EXTRAS = CatalogExtras()
