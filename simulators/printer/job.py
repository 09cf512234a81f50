"""Simulated printer state values: the paper sensor and the record of one printed job."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from simulators.printer.canvas import Roll


class PaperState(str, enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"


@dataclass
class Job:
    """What one job printed, for ``job-NNNN.json``."""

    bytes: int = 0
    text: list[str] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    user_chars: list[str] = field(default_factory=list)
    roll: Roll | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"bytes": self.bytes, "text": self.text, "qr": self.qr, "images": self.images,
                "cuts": self.cuts, "warnings": self.warnings, "user_chars": self.user_chars}
