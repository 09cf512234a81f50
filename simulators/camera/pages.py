"""Photos of paper forms as a 5 MP document camera (高拍仪) would take them, written from
doc-camera.md alone: an application form with a table, filled-in entries and a segno QR, laid on a dark
pad and seen through a slightly tilted lens, with LED fall-off, noise, and the faulty cases."""
from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

SENSOR = (2592, 1944)
SEEN_MM = 330.0  # pad width covered by the sensor's long side
SHEET_MM = (210.0, 297.0)
SCENARIOS = ("page", "blank", "blurred", "skewed", "glare", "partial")
_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
_FIELDS = ("申请人", "性别", "民族", "出生日期", "联系电话", "现住址", "申请事项", "办理方式", "材料份数", "备注")
_ENTRIES = ("农村低保申请", "残疾人两项补贴", "城乡居民医保参保", "新生儿落户", "养老保险待遇领取",
            "一份", "两份", "邮寄送达", "窗口领取", "代办员代办", "男", "女", "汉族", "壮族")


@dataclass(frozen=True)
class Photo:
    """One generated shot: the JPEG and what was staged."""

    jpeg: bytes
    scenario: str
    tilt_deg: float  # counter-clockwise tilt of the sheet, seen upright
    qr_text: str | None


def _face(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in _FONT_FILES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, px)
    return ImageFont.load_default(px)


def _qr_image(text: str, module_px: int) -> Image.Image:
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=module_px, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def draw_form(rnd: random.Random, dots_per_mm: float, *, empty: bool, qr_text: str | None) -> Image.Image:
    """The upright sheet, white with a printed table in black and handwriting-blue entries."""
    w, h = round(SHEET_MM[0] * dots_per_mm), round(SHEET_MM[1] * dots_per_mm)
    sheet = Image.new("RGB", (w, h), (250, 250, 246))
    if empty:
        return sheet
    pen = ImageDraw.Draw(sheet)
    mm = dots_per_mm
    pen.text((w / 2, 22 * mm), "政务服务事项申请表", font=_face(round(7 * mm)), fill=(10, 10, 10), anchor="mm")
    label, entry = _face(round(4.2 * mm)), _face(round(4.6 * mm))
    top, left, right, row_h = 40 * mm, 20 * mm, w - 20 * mm, 14 * mm
    split = left + 38 * mm
    for row, name in enumerate(_FIELDS):
        y = top + row * row_h
        pen.rectangle((left, y, right, y + row_h), outline=(20, 20, 20), width=max(1, round(0.3 * mm)))
        pen.line((split, y, split, y + row_h), fill=(20, 20, 20), width=max(1, round(0.3 * mm)))
        pen.text((left + 3 * mm, y + row_h / 2), name, font=label, fill=(10, 10, 10), anchor="lm")
        words = "，".join(rnd.choice(_ENTRIES) for _ in range(rnd.randint(1, 3)))
        pen.text((split + 4 * mm, y + row_h / 2), words, font=entry, fill=(25, 45, 140), anchor="lm")
    y = top + len(_FIELDS) * row_h + 12 * mm
    for _ in range(rnd.randint(6, 10)):
        line = "本人承诺所填信息真实有效，" + "".join(rnd.choice(_ENTRIES) for _ in range(5))
        pen.text((left, y), line[:34], font=label, fill=(10, 10, 10))
        y += 8 * mm
    if qr_text:
        code = _qr_image(qr_text, max(2, round(0.9 * mm)))
        sheet.paste(code.convert("RGB"), (round(right - code.width), round(h - 20 * mm - code.height)))
    return sheet


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8×8 here)."""
    n = len(rhs)
    rows = [matrix[i][:] + [rhs[i]] for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col and rows[r][col]:
                k = rows[r][col] / rows[col][col]
                rows[r] = [a - k * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def homography(seen: list[tuple[float, float]], source: list[tuple[float, float]]) -> list[float]:
    """Pillow PERSPECTIVE coefficients that fetch, for each frame point in ``seen``, the sheet point
    in ``source`` (four corner pairs)."""
    matrix, rhs = [], []
    for (x, y), (u, v) in zip(seen, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    return _solve(matrix, rhs)


def _lay_on_pad(rnd: random.Random, sheet: Image.Image, tilt: float, shift_x: float) -> Image.Image:
    """Put the sheet on the pad, top towards the frame's right edge, tilted, with lens keystone."""
    phi = math.radians(tilt - 90)
    cx, cy = SENSOR[0] / 2 + shift_x + rnd.uniform(-15, 15), SENSOR[1] / 2 + rnd.uniform(-15, 15)
    corners = [(0.0, 0.0), (sheet.width, 0.0), (sheet.width, sheet.height), (0.0, sheet.height)]
    seen = []
    for x, y in corners:
        dx, dy = x - sheet.width / 2, y - sheet.height / 2
        seen.append((cx + dx * math.cos(phi) + dy * math.sin(phi) + rnd.uniform(-2, 2),
                     cy - dx * math.sin(phi) + dy * math.cos(phi) + rnd.uniform(-2, 2)))
    coeffs = homography(seen, corners)
    warped = sheet.transform(SENSOR, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    cover = Image.new("L", sheet.size, 255).transform(SENSOR, Image.Transform.PERSPECTIVE, coeffs,
                                                        Image.Resampling.BILINEAR)
    pad = Image.linear_gradient("L").resize(SENSOR).point(lambda v: 28 + v // 24)
    return Image.composite(warped, Image.merge("RGB", (pad, pad, pad)), cover)


def _light_and_noise(rnd: random.Random, frame: Image.Image, glare: bool) -> Image.Image:
    """LED fall-off towards the corners, a specular spot when asked, and per-pixel sensor noise."""
    falloff = Image.radial_gradient("L").resize(SENSOR, Image.Resampling.BILINEAR).point(lambda v: 255 - v // 4)
    frame = ImageChops.multiply(frame, Image.merge("RGB", (falloff,) * 3))
    if glare:
        spot = Image.radial_gradient("L").point(lambda v: max(0, 255 - v * 3 // 2)).resize((1100, 850))
        layer = Image.new("L", SENSOR, 0)
        layer.paste(spot, (rnd.randint(650, 850), rnd.randint(450, 650)))
        frame = ImageChops.screen(frame, Image.merge("RGB", (layer,) * 3))
    half = (SENSOR[0] // 2, SENSOR[1] // 2)
    grain = Image.frombytes("L", half, rnd.randbytes(half[0] * half[1]))
    grain = grain.point(lambda v: 124 + (v * 9) // 256).resize(SENSOR, Image.Resampling.BILINEAR)
    return ImageChops.add(frame, Image.merge("RGB", (grain,) * 3), 1.0, -128)


def take_photo(scenario: str = "page", seed: int = 0, qr_text: str | None = None) -> Photo:
    """Generate one shot. Same ``scenario``, ``seed`` and ``qr_text`` give the same bytes.
    Raises ``ValueError`` for an unknown scenario."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    rnd = random.Random(f"camera-sim:{scenario}:{seed}")
    dots_per_mm = SENSOR[0] / SEEN_MM
    blank = scenario == "blank"
    sheet = draw_form(rnd, dots_per_mm, empty=blank, qr_text=None if blank else qr_text)
    tilt = rnd.choice((-1, 1)) * rnd.uniform(3.5, 4.5) if scenario == "skewed" else rnd.uniform(-2.0, 2.0)
    shift = sheet.width * 0.25 if scenario == "partial" else 0.0
    frame = _light_and_noise(rnd, _lay_on_pad(rnd, sheet, tilt, shift), scenario == "glare")
    if scenario == "blurred":
        frame = frame.filter(ImageFilter.BoxBlur(3)).filter(ImageFilter.BoxBlur(3))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=88)
    return Photo(out.getvalue(), scenario, tilt, None if blank else qr_text)
