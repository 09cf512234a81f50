"""Turns one camera frame (JPEG) into a submittable page: find the page on the dark pad, deskew, crop,
resample to a readable dpi, flatten the light, check blank/blur/exposure, and compress to a budget."""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

from PIL import Image, ImageChops, ImageFilter, ImageStat

from drivers.camera import analysis
from drivers.camera.base import CaptureFailed
from drivers.camera.quality import BadExposure, BlankPage, BlurredPage, PageNotFound, RejectCode

# Decoding a hostile JPEG must not exhaust a Pi's memory: 40 MP is well above any 高拍仪 sensor.
MAX_FRAME_PIXELS = 40_000_000


@dataclass(frozen=True)
class PipelineConfig:
    """Per-device settings. The thresholds are guesses from simulated frames (doc-camera.md §4): tune
    them on fixtures from the real device."""

    field_mm: float = 330.0  # width of the pad area the sensor's long side sees
    mount_rotation: int = 90  # counter-clockwise turn that makes a page placed as intended upright
    target_dpi: float = 200.0
    fallback_dpi: tuple[float, ...] = (150.0, 125.0, 100.0)
    max_bytes: int = 300_000
    quality_range: tuple[int, int] = (50, 75)
    analysis_scale: int = 4  # the page is found on a 1/4-scale draft decode
    min_page_share: float = 0.40
    min_paper_level: float = 80.0
    max_glare_share: float = 0.015
    min_ink_share: float = 0.003
    min_sharpness: float = 6000.0  # Laplacian variance per unit ink share


@dataclass(frozen=True)
class Page:
    """A processed page: greyscale JPEG at ``dpi`` plus what was measured on the way."""

    jpeg: bytes
    width: int
    height: int
    dpi: float
    quality: int
    skew_deg: float  # counter-clockwise tilt the page had on the pad
    ink_share: float
    sharpness: float
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        return len(self.jpeg)

    def summary(self) -> dict[str, object]:
        """A JSON-ready description (no image content)."""
        return {"bytes": self.size, "width": self.width, "height": self.height, "dpi": round(self.dpi, 1),
                "quality": self.quality, "skew_deg": self.skew_deg, "ink_share": round(self.ink_share, 4),
                "sharpness": round(self.sharpness)}


def decode_grey(jpeg: bytes, scale: int = 1) -> Image.Image:
    """Decode ``jpeg`` straight to greyscale, at 1/``scale`` size where the JPEG decoder can do it for
    free (``draft``), else resized. Raises ``CaptureFailed`` for bytes that are not a decodable image."""
    try:
        image = Image.open(io.BytesIO(jpeg))
        goal = (max(1, image.width // scale), max(1, image.height // scale))
        if image.width * image.height > MAX_FRAME_PIXELS:
            raise CaptureFailed(f"frame of {image.width}x{image.height} is larger than any camera", code="bad_image")
        if image.format == "JPEG":
            image.draft("L", goal)
        grey = image.convert("L")
        grey.load()
    except CaptureFailed:
        raise
    # TypeError: Pillow's TIFF reader trips over a damaged tile offset (an IFDRational where an int belongs).
    except (OSError, ValueError, TypeError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CaptureFailed(f"frame is not a decodable image: {exc}", code="bad_image") from exc
    if grey.width > goal[0] + 1:
        grey = grey.resize(goal, Image.Resampling.BOX)
    return grey


def frame_motion(previous: bytes, current: bytes, scale: int = 8) -> float:
    """Mean absolute grey-level change between two frames on 1/``scale`` draft decodes (doc §4 step 2,
    the still check): above a few levels the hand or the page is still moving, so wait before taking
    the frame. Raises ``CaptureFailed`` for undecodable frames; frames of different sizes count as moving."""
    a, b = decode_grey(previous, scale), decode_grey(current, scale)
    if a.size != b.size:
        return 255.0
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def _upright(image: Image.Image, rotation: int) -> Image.Image:
    turns = {0: None, 90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
             270: Image.Transpose.ROTATE_270}
    method = turns[rotation % 360]
    return image if method is None else image.transpose(method)


def locate_page(small: Image.Image, config: PipelineConfig) -> tuple[analysis.Box, int]:
    """The page's box on a small upright frame and the Otsu threshold that separated it from the pad.
    Raises ``PageNotFound`` (no page, page over the frame edge, page too small) or ``BadExposure``."""
    if small.width < 8 or small.height < 8:
        raise PageNotFound(f"frame of {small.width}x{small.height} is too small to hold a page")
    soft = small.filter(ImageFilter.GaussianBlur(1.5))
    threshold = analysis.otsu_threshold(soft.histogram())
    mask = analysis.bright_mask(soft, threshold)
    box = mask.getbbox()
    whole = ImageStat.Stat(small)
    if box is None or whole.stddev[0] < 10:  # nothing bright, or a near-uniform frame with no edges
        if whole.mean[0] < config.min_paper_level:
            raise BadExposure(f"frame mean {whole.mean[0]:.0f} with no bright page", RejectCode.TOO_DARK)
        raise PageNotFound(f"no page against the pad (frame stddev {whole.stddev[0]:.1f})")
    bright = ImageStat.Stat(small, mask).mean[0]
    if mask.getextrema()[0] == 255:
        raise PageNotFound("no pad visible: the page fills the whole frame", RejectCode.OFF_EDGE)
    gap = bright - ImageStat.Stat(small, ImageChops.invert(mask)).mean[0]
    if gap < 40:
        raise PageNotFound(f"no page against the pad (contrast {gap:.0f})")
    if bright < config.min_paper_level:
        raise BadExposure(f"paper level {bright:.0f} < {config.min_paper_level:.0f}", RejectCode.TOO_DARK)
    if analysis.touches_edge(box, small.size):
        raise PageNotFound(f"page box {box} touches the frame edge", RejectCode.OFF_EDGE)
    share = (box[2] - box[0]) * (box[3] - box[1]) / (small.width * small.height)
    if share < config.min_page_share:
        raise PageNotFound(f"page covers {share:.0%} of the frame", RejectCode.TOO_SMALL)
    return box, threshold


def _check_glare(small: Image.Image, box: analysis.Box, config: PipelineConfig) -> None:
    histogram = small.crop(box).histogram()
    clipped = sum(histogram[250:]) / max(1, sum(histogram))
    if clipped > config.max_glare_share:
        raise BadExposure(f"{clipped:.1%} of the page is clipped white", RejectCode.GLARE)


def _deskew_and_crop(full: Image.Image, box: analysis.Box, threshold: int,
                     config: PipelineConfig) -> tuple[Image.Image, float]:
    """Crop the page's box, find the text's skew on a half-scale copy of its middle (where no pad
    shows), turn the page straight and crop it again tightly."""
    scale = config.analysis_scale
    crop = full.crop(analysis.scale_box(box, scale, full.size, pad=scale * 2))
    half = crop.reduce(2)
    inner = half.crop(analysis.inset_box((0, 0, half.width, half.height), 0.12))
    ink = analysis.darkness(inner).point(lambda v: 255 if v >= analysis.INK_DARKNESS else 0)
    angle = analysis.skew_angle(ink)
    straight = crop.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=0) if angle else crop
    small = straight.reduce(scale)
    tight = analysis.bright_mask(small, threshold).getbbox() or (0, 0, small.width, small.height)
    page_box = analysis.inset_box(analysis.scale_box(tight, scale, straight.size), 0.006)
    return straight.crop(page_box), 0.0 - angle  # never -0.0 in reports


def _normalise(page: Image.Image) -> tuple[Image.Image, float]:
    """White paper, black ink: remove the light's unevenness, then map darkness to grey with the
    noise floor forced to white (which also keeps the JPEG small). Returns the image and ink share."""
    dark = analysis.darkness(page)
    # Ink is counted away from the borders, where slivers of the pad can survive the crop.
    inner = dark.crop(analysis.inset_box((0, 0, dark.width, dark.height), 0.03))
    histogram = dark.histogram()
    floor = 12
    top = max(floor + 48, analysis.percentile(histogram, 0.995))
    lut = [255 - max(0, min(255, round((d - floor) * 255 / (top - floor)))) for d in range(256)]
    return dark.point(lut), analysis.ink_share(inner)


def _encode(image: Image.Image, dpi: float, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def compress(page: Image.Image, dpi: float, config: PipelineConfig) -> tuple[bytes, Image.Image, float, int]:
    """Encode ``page`` (at ``dpi``) as greyscale JPEG within ``config.max_bytes``: the top quality if it
    fits, else a binary search down to the floor, else the next lower dpi. Returns (jpeg, image, dpi,
    quality). Raises ``CaptureFailed`` when even the lowest dpi at the floor quality does not fit."""
    low_q, high_q = config.quality_range

    for dpi_now in (dpi, *[d for d in config.fallback_dpi if d < dpi]):
        factor = dpi_now / dpi
        image = page if factor == 1 else page.resize(
            (max(1, round(page.width * factor)), max(1, round(page.height * factor))), Image.Resampling.LANCZOS)
        best = _encode(image, dpi_now, high_q)
        if len(best) <= config.max_bytes:
            return best, image, dpi_now, high_q
        floor = _encode(image, dpi_now, low_q)
        if len(floor) > config.max_bytes:
            continue
        best, best_q, lo, hi = floor, low_q, low_q + 1, high_q - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            data = _encode(image, dpi_now, mid)
            if len(data) <= config.max_bytes:
                best, best_q, lo = data, mid, mid + 1
            else:
                hi = mid - 1
        return best, image, dpi_now, best_q
    raise CaptureFailed(f"page does not fit {config.max_bytes} bytes even at {dpi_now:.0f} dpi",
                        code="page_too_large")


def process_capture(jpeg: bytes, config: PipelineConfig | None = None) -> Page:
    """Run the whole pipeline on one frame. Raises ``CaptureFailed`` (not an image, cannot compress),
    ``PageNotFound``, ``BadExposure``, ``BlankPage`` or ``BlurredPage``; never anything else for bad input."""
    config = config or PipelineConfig()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    small = _upright(decode_grey(jpeg, config.analysis_scale), config.mount_rotation)
    box, threshold = locate_page(small, config)
    _check_glare(small, box, config)
    full = _upright(decode_grey(jpeg), config.mount_rotation)
    timings["decode"] = time.perf_counter() - started

    started = time.perf_counter()
    page, skew = _deskew_and_crop(full, box, threshold, config)
    native_dpi = max(full.size) * 25.4 / config.field_mm
    del full  # a 5 MP frame is 5 MB even in greyscale; a Pi has little to spare
    dpi = min(config.target_dpi, native_dpi)
    if dpi < native_dpi:
        factor = dpi / native_dpi
        page = page.resize((max(1, round(page.width * factor)), max(1, round(page.height * factor))),
                           Image.Resampling.LANCZOS, reducing_gap=2.0)
    timings["crop_deskew"] = time.perf_counter() - started

    started = time.perf_counter()
    clean, ink = _normalise(page)
    if ink < config.min_ink_share:
        raise BlankPage(f"ink share {ink:.2%} < {config.min_ink_share:.2%}")
    # Edge energy per unit of ink: a page with little text is not mistaken for a blurred one.
    sharp = analysis.sharpness(clean) / max(ink, 1e-4)
    if sharp < config.min_sharpness:
        raise BlurredPage(f"Laplacian variance per ink share {sharp:.0f} < {config.min_sharpness:.0f}")
    timings["clean"] = time.perf_counter() - started

    started = time.perf_counter()
    data, final, out_dpi, quality = compress(clean, dpi, config)
    timings["compress"] = time.perf_counter() - started
    return Page(data, final.width, final.height, out_dpi, quality, skew, ink, sharp, timings)
