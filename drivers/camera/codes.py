"""QR codes and barcodes in a captured image, read with pyzbar (zbar) on greyscale copies at scales
where a QR module spans at least a few pixels, on the full frame and on the page's crop (doc §5)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image

from drivers.camera import analysis
from drivers.camera.base import CaptureFailed

# zbar finds codes fastest on frames of moderate size; larger frames are tried reduced, smaller ones
# enlarged so that the modules of a small code still span 2-3 pixels.
_WORK_WIDTHS = (1600, 2400, 800)
_MIN_SIDE = 400
_MAX_PIXELS = 40_000_000
# Symbologies seen on government paperwork. DataBar is left out: zbar's DataBar decoder prints
# assertion noise on text-heavy pages and nothing here carries it.
_SYMBOLS = ("QRCODE", "CODE128", "CODE39", "CODE93", "EAN13", "EAN8", "UPCA", "UPCE", "I25", "CODABAR",
            "PDF417")


@dataclass(frozen=True)
class Code:
    """One decoded symbol: zbar's type name (``QRCODE``, ``CODE128``, ``EAN13`` …) and its raw bytes.
    zbar may have transcoded a non-UTF-8 QR (see doc §5); callers apply the scanner's decode policy."""

    type: str
    data: bytes


def _load(image: bytes | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("L")
    try:
        opened = Image.open(io.BytesIO(image))
        if opened.width * opened.height > _MAX_PIXELS:
            raise CaptureFailed("image too large to search for codes", code="bad_image")
        grey = opened.convert("L")
        grey.load()
        return grey
    except CaptureFailed:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CaptureFailed(f"not a decodable image: {exc}", code="bad_image") from exc


def _zbar(grey: Image.Image) -> list[Code]:
    from pyzbar import pyzbar  # imported late: libzbar0 missing must not break importing the camera

    if grey.width < 1 or grey.height < 1:
        return []
    symbols = [getattr(pyzbar.ZBarSymbol, name) for name in _SYMBOLS]
    return [Code(found.type, bytes(found.data)) for found in pyzbar.decode(grey, symbols=symbols)]


def _at_width(grey: Image.Image, width: int) -> Image.Image:
    height = max(1, round(grey.height * width / grey.width))
    resample = Image.Resampling.BOX if width < grey.width else Image.Resampling.BICUBIC
    return grey.resize((width, height), resample)


def _candidates(grey: Image.Image) -> Iterator[Image.Image]:
    """Greyscale views to try, cheapest first."""
    if max(grey.size) < _MIN_SIDE:
        factor = -(-_MIN_SIDE // max(1, max(grey.size)))
        yield grey.resize((grey.width * factor, grey.height * factor), Image.Resampling.NEAREST)
        return
    yield grey
    for width in _WORK_WIDTHS:
        if width < grey.width * 0.8:
            yield _at_width(grey, width)
    page = _page_crop(grey)
    if page is not None:
        yield page if page.width >= 1200 else _at_width(page, page.width * 2)


def _page_crop(grey: Image.Image) -> Image.Image | None:
    """The bright page against the dark pad, when the image shows one (else None)."""
    factor = max(1, max(grey.size) // 600)
    small = grey.reduce(factor) if factor > 1 else grey
    box = analysis.bright_mask(small, analysis.otsu_threshold(small.histogram())).getbbox()
    if box is None:
        return None
    page_box = analysis.scale_box(box, factor, grey.size, pad=factor * 2)
    area = (page_box[2] - page_box[0]) * (page_box[3] - page_box[1])
    return grey.crop(page_box) if 0 < area < 0.9 * grey.width * grey.height else None


def decode_codes(image: bytes | Image.Image) -> list[Code]:
    """All symbols zbar finds, in the order found, without duplicates; ``[]`` when there are none.
    Tries the image as given, then reduced and enlarged copies, and stops at the first that yields.
    Raises ``CaptureFailed`` (code ``bad_image``) for bytes that are not a decodable image."""
    grey = _load(image)
    for view in _candidates(grey):
        found = _zbar(view)
        if found:
            return list(dict.fromkeys(found))
    return []
