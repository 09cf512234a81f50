"""A camera double that photographs a generated A4 page (Chinese text, a red seal, an optional pasted-in
image such as a QR) lying on a dark base pad, with the flaws of a real 高拍仪 shot: tilt, keystone, uneven
LED shading, sensor noise, and the blank, blurred, glare and out-of-frame cases. Pillow only."""
from __future__ import annotations

import enum
import functools
import io
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from drivers.camera.base import Camera, CaptureFailed

#: 5 MP class sensor and the field of view along its long side (Derived in doc-camera.md §1: ~200 dpi).
FRAME_SIZE = (2592, 1944)
FIELD_MM = 330.0
A4_MM = (210.0, 297.0)
PAD_RGB = (36, 38, 43)
PAPER_RGB = (244, 241, 233)
INK_RGB = (28, 28, 34)
SEAL_RGB = (200, 32, 36)

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)

# Phrases of an invented village certificate (证明); no real person or place.
_PHRASES = (
    "兹证明该户居民长期居住在本村", "经村民委员会核实情况属实", "特此证明", "申请办理相关政务服务事项",
    "家庭成员共同生活", "住房面积及结构如下所述", "本证明仅用于本次申请", "如有虚假愿承担相应责任",
    "所附材料均为原件复印", "联系电话已登记在册", "承包土地面积三亩二分", "户籍登记信息与实际一致",
    "经办人已现场查看", "请有关部门予以办理", "本村位于乡政府东侧约五公里", "年度收入情况如实填报",
)


class Scenario(str, enum.Enum):
    """What the simulated shot shows."""

    PAGE = "page"
    BLANK = "blank"
    BLURRED = "blurred"
    SKEWED = "skewed"
    GLARE = "glare"
    PARTIAL = "partial"


@dataclass(frozen=True)
class ShotTruth:
    """What was staged for one shot, so tests can check what the pipeline recovers."""

    scenario: Scenario
    tilt_deg: float  # counter-clockwise tilt of the upright page
    page_px: tuple[int, int]  # upright page size in frame pixels


def find_cjk_font() -> str | None:
    """Path of an installed CJK font, or None (text then falls back to Pillow's Latin default font)."""
    return next((path for path in FONT_CANDIDATES if Path(path).is_file()), None)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = find_cjk_font()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def render_page(rng: random.Random, size: tuple[int, int], *, blank: bool,
                overlay: Image.Image | None, overlay_mm: float) -> Image.Image:
    """Draw the upright A4 page (RGB) at ``size`` pixels: title, body lines, date, seal and overlay."""
    page = Image.new("RGB", size, PAPER_RGB)
    if blank:
        return page
    px_mm = size[0] / A4_MM[0]
    draw = ImageDraw.Draw(page)
    margin = round(25 * px_mm)
    body_px = round(4.4 * px_mm)  # about 12 pt
    title = _font(round(6.5 * px_mm))
    body = _font(body_px)
    draw.text((size[0] // 2, margin), "村民委员会证明", font=title, fill=INK_RGB, anchor="mt")
    per_line = (size[0] - 2 * margin) // body_px
    y = margin + round(20 * px_mm)
    for _ in range(rng.randint(14, 22)):
        text = "".join(rng.choice(_PHRASES) + "，" for _ in range(4))
        line = ("　　" if rng.random() < 0.25 else "") + text
        # Ragged paragraph ends, as real text has.
        draw.text((margin, y), line[: per_line - rng.randint(0, 6)], font=body, fill=INK_RGB)
        y += round(body_px * 1.7)
    y += round(8 * px_mm)
    draw.text((size[0] - margin, y), "二〇二六年三月十二日", font=body, fill=INK_RGB, anchor="rt")
    seal_r = round(20 * px_mm)
    centre = (size[0] - margin - seal_r - round(10 * px_mm), y - round(4 * px_mm))
    box = (centre[0] - seal_r, centre[1] - seal_r, centre[0] + seal_r, centre[1] + seal_r)
    draw.ellipse(box, outline=SEAL_RGB, width=max(2, round(1.2 * px_mm)))
    draw.text(centre, "★", font=_font(round(12 * px_mm)), fill=SEAL_RGB, anchor="mm")
    if overlay is not None:
        side = round(overlay_mm * px_mm)
        picture = overlay.convert("RGB").resize((side, side), Image.Resampling.NEAREST)
        page.paste(picture, (margin, size[1] - margin - side))
    return page


def _noise_tile(rng: random.Random, sigma: float, side: int = 256) -> Image.Image:
    """Gaussian-looking sensor noise centred on 128, from the seeded generator (Pillow's own noise is
    not seedable, and a shot must be reproducible)."""
    normal = statistics.NormalDist(128.0, sigma)
    lut = [max(0, min(255, round(normal.inv_cdf((i + 0.5) / 256)))) for i in range(256)]
    return Image.frombytes("L", (side, side), rng.randbytes(side * side)).point(lut)


def _tiled(tile: Image.Image, size: tuple[int, int]) -> Image.Image:
    out = Image.new("L", size)
    for x in range(0, size[0], tile.width):
        for y in range(0, size[1], tile.height):
            out.paste(tile, (x, y))
    return out


def _shading(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Uneven LED light as a multiplier image (255 = full light)."""
    coarse = Image.new("L", (4, 3))
    coarse.putdata([rng.randint(200, 255) for _ in range(12)])
    return coarse.resize(size, Image.Resampling.BICUBIC)


def _hot_spot(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """The LED's reflection on a glossy page: a soft ellipse that saturates the sensor when added."""
    spot = Image.new("L", size, 0)
    cx, cy, r = size[0] // 2 + rng.randint(-200, 200), size[1] // 2 + rng.randint(-150, 150), 420
    ImageDraw.Draw(spot).ellipse((cx - r, cy - r * 3 // 4, cx + r, cy + r * 3 // 4), fill=255)
    return spot.filter(ImageFilter.GaussianBlur(60))


def photograph(rng: random.Random, scenario: Scenario, overlay: Image.Image | None = None,
               overlay_mm: float = 30.0) -> tuple[Image.Image, ShotTruth]:
    """Stage one shot and return the RGB frame with what was staged."""
    px_mm = FRAME_SIZE[0] / FIELD_MM
    page_px = (round(A4_MM[0] * px_mm), round(A4_MM[1] * px_mm))
    page = render_page(rng, page_px, blank=scenario is Scenario.BLANK, overlay=overlay, overlay_mm=overlay_mm)
    tilt = rng.uniform(3.5, 4.5) * rng.choice((-1, 1)) if scenario is Scenario.SKEWED else rng.uniform(-2, 2)
    # The page lies across the sensor's long side with its top towards the frame's right edge; the
    # pipeline's mount rotation (+90°) turns it upright again.
    placed = page.rotate(tilt - 90, Image.Resampling.BICUBIC, expand=True, fillcolor=PAD_RGB)
    mask = Image.new("L", page.size, 255).rotate(tilt - 90, Image.Resampling.BICUBIC, expand=True)
    frame = Image.new("RGB", FRAME_SIZE, PAD_RGB)
    x = (FRAME_SIZE[0] - placed.width) // 2 + rng.randint(-20, 20)
    y = (FRAME_SIZE[1] - placed.height) // 2 + rng.randint(-20, 20)
    if scenario is Scenario.PARTIAL:
        x += round(placed.width * 0.22)
    frame.paste(placed, (x, y), mask)
    # Keystone: the lens sits off the pad's centre towards one short side, so that side of the frame
    # sees a slightly wider strip. Vertical lines (the page's text lines) stay vertical.
    w, h = FRAME_SIZE
    near, far = 0.0, rng.uniform(0, 0.006) * h
    left, right = (near, far) if rng.random() < 0.5 else (far, near)
    quad = (0, left, 0, h - left, w, h - right, w, right)
    frame = frame.transform(FRAME_SIZE, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    frame = ImageChops.multiply(frame, Image.merge("RGB", (_shading(rng, FRAME_SIZE),) * 3))
    if scenario is Scenario.GLARE:
        frame = ImageChops.add(frame, Image.merge("RGB", (_hot_spot(rng, FRAME_SIZE),) * 3))
    if scenario is Scenario.BLURRED:
        frame = frame.filter(ImageFilter.GaussianBlur(5))
    noise = _tiled(_noise_tile(rng, 3.5), FRAME_SIZE)
    frame = ImageChops.add(frame, Image.merge("RGB", (noise,) * 3), 1.0, -128)
    return frame, ShotTruth(scenario, tilt, page_px)


class SimulatedCamera(Camera):
    """Serves generated page photos as JPEG. Shot ``n`` of a camera with seed ``s`` is the same on
    every run; successive shots differ so a multi-page capture shows different pages."""

    def __init__(self, scenario: str | Scenario = Scenario.PAGE, seed: int = 0, *,
                 overlay: Image.Image | None = None, overlay_mm: float = 30.0, jpeg_quality: int = 90) -> None:
        """Raises ``ValueError`` for an unknown scenario."""
        self.scenario = Scenario(scenario)
        self.seed = seed
        self.overlay = overlay
        self.overlay_mm = overlay_mm
        self.jpeg_quality = jpeg_quality
        self.shots = 0
        self.last_truth: ShotTruth | None = None
        self._closed = False

    def capture(self) -> bytes:
        """Returns one JPEG frame. Raises ``CaptureFailed`` after ``close()``."""
        if self._closed:
            raise CaptureFailed("simulated camera is closed")
        rng = random.Random(self.seed * 100_003 + self.shots)
        self.shots += 1
        frame, self.last_truth = photograph(rng, self.scenario, self.overlay, self.overlay_mm)
        out = io.BytesIO()
        frame.save(out, "JPEG", quality=self.jpeg_quality)
        return out.getvalue()

    def close(self) -> None:
        self._closed = True
