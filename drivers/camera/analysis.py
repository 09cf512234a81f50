"""Measurements on greyscale page photos with Pillow only: Otsu threshold, the page's box against the dark
pad, background flattening, ink share, skew angle and sharpness (doc-camera.md §4)."""
from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter, ImageStat

Box = tuple[int, int, int, int]

#: How much darker than the local paper a pixel must be to count as ink. Sensor noise stays far below.
INK_DARKNESS = 40
LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], 1, 128)


def otsu_threshold(histogram: list[int]) -> int:
    """The grey level that best splits a 256-bin histogram into two classes (maximal between-class
    variance). Returns 0 for an empty or single-level histogram."""
    total = sum(histogram)
    if total == 0:
        return 0
    grand = sum(level * count for level, count in enumerate(histogram))
    best_level, best_score = 0, -1.0
    weight_low = 0
    sum_low = 0
    for level, count in enumerate(histogram[:255]):
        weight_low += count
        sum_low += level * count
        weight_high = total - weight_low
        if weight_low == 0 or weight_high == 0:
            continue
        mean_gap = sum_low / weight_low - (grand - sum_low) / weight_high
        score = weight_low * weight_high * mean_gap * mean_gap
        if score > best_score:
            best_level, best_score = level, score
    return best_level


def bright_mask(grey: Image.Image, threshold: int) -> Image.Image:
    """Pixels above ``threshold`` as 255, with specks smaller than a few pixels removed (an opening),
    so dust and reflections on the pad do not stretch the page's box."""
    mask = grey.point(lambda v: 255 if v > threshold else 0)
    return mask.filter(ImageFilter.MinFilter(5)).filter(ImageFilter.MaxFilter(5))


def touches_edge(box: Box, size: tuple[int, int], slack: int = 1) -> bool:
    """Whether ``box`` reaches within ``slack`` pixels of the image border."""
    left, top, right, bottom = box
    return left <= slack or top <= slack or right >= size[0] - slack or bottom >= size[1] - slack


def scale_box(box: Box, factor: float, size: tuple[int, int], pad: int = 0) -> Box:
    """``box`` multiplied by ``factor``, grown by ``pad`` pixels and clipped to ``size``."""
    left, top, right, bottom = (round(v * factor) for v in box)
    return (max(0, left - pad), max(0, top - pad), min(size[0], right + pad), min(size[1], bottom + pad))


def inset_box(box: Box, fraction: float) -> Box:
    """``box`` shrunk on every side by ``fraction`` of its width and height."""
    left, top, right, bottom = box
    dx, dy = round((right - left) * fraction), round((bottom - top) * fraction)
    return (left + dx, top + dy, right - dx, bottom - dy)


def paper_level(grey: Image.Image) -> Image.Image:
    """An estimate of the paper's brightness under the uneven light at every pixel: the local maximum
    (which erases thin dark strokes) of a reduced copy, smoothed and scaled back up."""
    factor = max(1, min(grey.size) // 120)
    small = grey.reduce(factor) if factor > 1 else grey.copy()
    small = small.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(2))
    return small.resize(grey.size, Image.Resampling.BILINEAR)


def darkness(grey: Image.Image) -> Image.Image:
    """How much darker than the local paper each pixel is (0 = paper). Flattens LED shading."""
    return ImageChops.subtract(paper_level(grey), grey)


def ink_share(dark: Image.Image) -> float:
    """Fraction of pixels of a ``darkness`` image that are ink."""
    histogram = dark.histogram()
    total = sum(histogram)
    return sum(histogram[INK_DARKNESS:]) / total if total else 0.0


def percentile(histogram: list[int], fraction: float) -> int:
    """The lowest level at or below which ``fraction`` of the pixels lie."""
    goal = sum(histogram) * fraction
    running = 0
    for level, count in enumerate(histogram):
        running += count
        if running >= goal:
            return level
    return len(histogram) - 1


def _row_profile_score(ink: Image.Image, angle: float) -> float:
    """Variance of the row means of ``ink`` turned by ``angle``: text lines aligned with the rows give
    alternating full and empty rows, hence the highest variance."""
    turned = ink.rotate(angle, Image.Resampling.BILINEAR, fillcolor=0)
    rows = turned.resize((1, turned.height), Image.Resampling.BOX)
    return ImageStat.Stat(rows).var[0]


def skew_angle(ink: Image.Image, limit: float = 5.0, step: float = 0.5, fine: float = 0.1) -> float:
    """The counter-clockwise rotation (degrees) that makes the text lines of a binary ink image
    horizontal: a coarse search over ``±limit`` in ``step``, then a finer one around the best."""
    coarse = [i * step for i in range(-round(limit / step), round(limit / step) + 1)]
    # The coarse pass only has to land within half a step, so a half-size copy is enough for it.
    rough = ink.reduce(2) if min(ink.size) >= 400 else ink
    best = max(coarse, key=lambda a: (_row_profile_score(rough, a), -abs(a)))
    around = [best + i * fine for i in range(-round(step / fine) + 1, round(step / fine))]
    finest = max(around, key=lambda a: (_row_profile_score(ink, a), -abs(a)))
    return round(finest, 2)


def sharpness(grey: Image.Image, width: int = 1000) -> float:
    """Variance of the Laplacian on a copy about ``width`` pixels wide (higher = sharper)."""
    if grey.width > width:
        grey = grey.resize((width, max(1, round(grey.height * width / grey.width))), Image.Resampling.BOX)
    return ImageStat.Stat(grey.filter(LAPLACIAN)).var[0]
