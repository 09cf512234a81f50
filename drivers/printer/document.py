"""Printer-independent receipt content: a ``Document`` is a tuple of plain values (lines, QR codes,
images, rules, feeds, cuts) that the ESC/POS renderer turns into bytes for a given printer profile."""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is only needed by callers that attach images
    from PIL.Image import Image as PILImage


class Align(enum.IntEnum):
    """Horizontal alignment; the values are ESC a parameters."""

    LEFT = 0
    CENTER = 1
    RIGHT = 2


class QrLevel(enum.IntEnum):
    """QR error-correction level; the values are GS ( k fn 69 parameters."""

    L = 48
    M = 49
    Q = 50
    H = 51


@dataclass(frozen=True)
class Text:
    """One logical line of text, wrapped by display width when too long.

    With ``value`` set, ``text`` is a label printed on the left and ``value`` is right-aligned on the
    same line (wrapping under itself when both do not fit). ``size`` is 1 or 2 (width and height).
    """

    text: str
    value: str | None = None
    align: Align = Align.LEFT
    bold: bool = False
    size: int = 1

    def __post_init__(self) -> None:
        if self.size not in (1, 2):
            raise ValueError("Text.size must be 1 or 2")


@dataclass(frozen=True)
class QR:
    """A QR code (model 2) of ``payload``, centred by default.

    ``module`` is the module size in dots (a hint: the printer profile may cap it). ``image`` is an
    optional pre-rendered 1-bit picture of the same code, used only when the profile has no native QR;
    ``draw`` makes that picture on demand instead, so that a printer with native QR (GS ( k) never pays
    for a picture it does not print.
    """

    payload: str
    module: int = 6
    level: QrLevel = QrLevel.M
    align: Align = Align.CENTER
    image: PILImage | None = field(default=None, compare=False, repr=False)
    draw: Callable[[], PILImage] | None = field(default=None, compare=False, repr=False)

    def picture(self) -> PILImage | None:
        """The raster fallback: the given picture, or one drawn now; None when there is neither."""
        if self.image is not None:
            return self.image
        return self.draw() if self.draw is not None else None


@dataclass(frozen=True)
class Image:
    """A picture printed as raster; scaled down to the paper width when wider, thresholded to 1 bit."""

    image: PILImage = field(compare=False, repr=False)
    align: Align = Align.CENTER


@dataclass(frozen=True)
class Rule:
    """A full-width separator line made of ``char`` (1 column wide) or, when ``char`` is empty, of dashes."""

    char: str = "-"


@dataclass(frozen=True)
class Feed:
    """``lines`` empty lines."""

    lines: int = 1


@dataclass(frozen=True)
class Cut:
    """Feed to the cutter and cut; ``partial`` asks for a partial cut where the printer can do it."""

    partial: bool = True


Element = Text | QR | Image | Rule | Feed | Cut


@dataclass(frozen=True)
class Document:
    """What to print, top to bottom. ``title`` is for logs only (never personal data)."""

    elements: tuple[Element, ...]
    title: str = ""

    def __iter__(self):
        return iter(self.elements)

    def texts(self) -> list[str]:
        """The text of every line (label and value joined by a space), for tests and previews."""
        out = []
        for element in self.elements:
            if isinstance(element, Text):
                out.append(element.text if element.value is None else f"{element.text} {element.value}")
        return out

    def qr_payloads(self) -> list[str]:
        return [e.payload for e in self.elements if isinstance(e, QR)]
