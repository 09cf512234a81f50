"""The item catalog (事项目录) central serves: lookup of items, situations (情形), materials and steps
(环节) for the simulation, and the signed, chunked, retained publication of §9."""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.central.workdays import WorkCalendar

PART_SIZE = 64 * 1024
# An item the catalog does not know still gets a plausible life: accepted, reviewed, decided, issued.
FALLBACK_STEPS = [{"code": "P01", "name": "受理", "limit_days": 0}, {"code": "P02", "name": "审查", "limit_days": 5},
                  {"code": "P03", "name": "决定", "limit_days": 3},
                  {"code": "P04", "name": "制证发证", "limit_days": 2}]
FALLBACK_PROMISED_DAYS = 10


@dataclass(frozen=True)
class ItemRule:
    """What the simulation needs of one item."""
    code: str
    name: str
    category: str
    promised_days: int
    steps: list[dict]
    known: bool
    window_check: bool = False  # the materials are checked at a window before acceptance (预审)


class Catalog:
    def __init__(self, data: dict) -> None:
        self.data = data
        version = data.get("version")
        self.version = version if isinstance(version, int) and not isinstance(version, bool) else 1
        self.calendar = WorkCalendar.from_catalog(data)
        self.items: dict[str, dict] = {item["code"]: item for item in data.get("items", [])
                                       if isinstance(item, dict) and isinstance(item.get("code"), str)}
        self.categories: dict[str, dict] = {c["code"]: c for c in data.get("categories", [])
                                            if isinstance(c, dict) and "code" in c}
        self.region = str((data.get("region") or {}).get("code") or "000000")
        self.village_points: list[dict] = [p for p in data.get("village_points") or []
                                           if isinstance(p, dict) and isinstance(p.get("code"), str)]

    @classmethod
    def load(cls, path: Path | str | None) -> Catalog:
        """Reads a catalog JSON file (the shape of shared/data/catalog-sample.json); None gives an empty
        catalog. Raises OSError or ValueError (json) when the file is unreadable."""
        if path is None:
            return cls({"version": 1, "items": [], "categories": []})
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def rule(self, item_code: str) -> ItemRule:
        item = self.items.get(item_code)
        if item is None:
            return ItemRule(item_code, item_code, "SOC", FALLBACK_PROMISED_DAYS, FALLBACK_STEPS, False)
        steps = [s for s in item.get("steps", []) if isinstance(s, dict)] or FALLBACK_STEPS
        promised = item.get("promised_days")
        check = item.get("window_check", item.get("online_level") == "网上预审")
        return ItemRule(item_code, str(item.get("name", item_code)), str(item.get("category", "SOC")),
                        promised if isinstance(promised, int) else FALLBACK_PROMISED_DAYS, steps, True,
                        check is True)

    def materials(self, item_code: str, situation: str) -> list[dict]:
        item = self.items.get(item_code) or {}
        for sit in item.get("situations", []):
            if isinstance(sit, dict) and sit.get("code") == situation:
                return [m for m in sit.get("materials", []) if isinstance(m, dict)]
        return []

    def shareable_codes(self, item_code: str, situation: str) -> list[str]:
        return [m["code"] for m in self.materials(item_code, situation) if m.get("shareable") is True]

    def department(self, item_code: str) -> str:
        """The name of the department that accepts the item (受理机关)."""
        code = (self.items.get(item_code) or {}).get("department")
        names = {d.get("code"): d.get("name") for d in self.data.get("departments", []) if isinstance(d, dict)}
        return str(names.get(code) or code or "")

    def points_of_villages(self, villages: list[str]) -> list[str]:
        """Codes of the village points (村便民服务点) of the named villages."""
        return [p["code"] for p in self.village_points if p.get("village") in villages]

    def windows(self, category: str) -> list[int]:
        return [w for w in (self.categories.get(category) or {}).get("windows", []) if isinstance(w, int)]


def build_publication(catalog: Catalog, published_at: str, part_size: int = PART_SIZE) -> tuple[list[bytes], dict]:
    """The parts (gzip of the catalog JSON cut into ``part_size`` pieces) and the unsigned manifest.
    gzip's header time is fixed so that every instance publishes identical bytes."""
    raw = json.dumps(catalog.data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    parts = [packed[i:i + part_size] for i in range(0, len(packed), part_size)] or [b""]
    manifest: dict[str, Any] = {"type": "catalog.manifest", "v": 1, "version": catalog.version,
                                "published_at": published_at, "parts": len(parts), "size": len(packed),
                                "sha256": hashlib.sha256(packed).hexdigest(), "encoding": "gzip"}
    return parts, manifest


def part_topic(version: int, n: int) -> str:
    return f"gov/v1/catalog/{version}/part/{n}"


MANIFEST_TOPIC = "gov/v1/catalog/manifest"
