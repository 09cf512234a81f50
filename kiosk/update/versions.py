"""Release versions of the terminal software (``0.2.0``): parsed once, compared as numbers, so that
``0.10.0`` is newer than ``0.9.0`` and a downgrade is refused by comparison, not by string order."""
from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION_RE = re.compile(r"^(0|[1-9][0-9]{0,4})(\.(0|[1-9][0-9]{0,4})){1,3}$")


class BadVersion(ValueError):
    """Not a release version of 2 to 4 dot-separated numbers (``1.4``, ``1.4.2``, ``1.4.2.1``)."""


@dataclass(frozen=True, order=True)
class Version:
    """A release version; ordered by its numbers (missing trailing parts count as 0)."""

    parts: tuple[int, int, int, int]
    text: str

    @classmethod
    def parse(cls, text: object) -> Version:
        """Raises BadVersion unless ``text`` is 2 to 4 numbers without leading zeros (``0.2.0``)."""
        if not isinstance(text, str) or not _VERSION_RE.fullmatch(text):
            raise BadVersion(f"{str(text)[:40]!r} is not a version like 1.4.2")
        numbers = [int(p) for p in text.split(".")]
        padded = (numbers + [0, 0, 0])[:4]
        return cls((padded[0], padded[1], padded[2], padded[3]), text)

    def __str__(self) -> str:
        return self.text
