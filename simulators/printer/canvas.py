"""The simulated paper roll: printed lines, raster images and QR codes drawn at 8 dots/mm with a CJK
font from the OS, stacked into one PNG per job. Written from escpos.md, independent of the drivers."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

import segno
from PIL import Image, ImageDraw, ImageFont

FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
LINE_GAP = 6  # dots between text lines: 24-dot characters on the default 30-dot line pitch


@functools.lru_cache(maxsize=1)
def _font_file() -> tuple[str | None, int]:
    paths = []
    if shutil.which("fc-match"):
        try:
            paths.append(subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans Mono CJK SC"],
                                        capture_output=True, text=True, timeout=5).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    paths += list(FONT_PATHS)
    for path in paths:
        if path and os.path.exists(path):
            for index in range(10):
                try:
                    name = ImageFont.truetype(path, 24, index=index).getname()[0] or ""
                except OSError:
                    break
                if "Mono CJK SC" in name:
                    return path, index
            return path, 0
    return None, 0


@functools.lru_cache(maxsize=16)
def font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path, index = _font_file()
    if path is None:  # no CJK font: still draw something rather than fail
        return ImageFont.load_default()
    return ImageFont.truetype(path, px, index=index)


@dataclass
class Cell:
    """One printed character cell of a text line: a character or a user-defined 24×24 glyph."""

    width: int          # dots
    height: int         # dots
    char: str = ""
    bold: bool = False
    bitmap: Image.Image | None = None  # mode "1", for user characters and inline bit images


class Roll:
    """The paper printed during one job, as horizontal strips of the full print width."""

    def __init__(self, dots: int) -> None:
        self.dots = dots
        self.strips: list[Image.Image] = []

    @property
    def rows(self) -> int:
        return sum(s.height for s in self.strips)

    def _x(self, width: int, align: int) -> int:
        if align == 1:
            return max(0, (self.dots - width) // 2)
        if align == 2:
            return max(0, self.dots - width)
        return 0

    def feed(self, rows: int) -> int:
        if rows > 0:
            self.strips.append(Image.new("L", (self.dots, rows), 255))
        return max(0, rows)

    def text_line(self, cells: list[Cell], align: int) -> int:
        """Draws a line of cells; returns the rows it used (an empty line feeds one line pitch)."""
        if not cells:
            return self.feed(24 + LINE_GAP)
        height = max(c.height for c in cells)
        strip = Image.new("L", (self.dots, height + LINE_GAP), 255)
        draw = ImageDraw.Draw(strip)
        x = self._x(sum(c.width for c in cells), align)
        for cell in cells:
            top = height - cell.height  # characters share a baseline at the bottom of the line
            if cell.bitmap is not None:
                strip.paste(cell.bitmap.convert("L").resize((cell.width, cell.height)), (x, top))
            elif cell.char.strip():
                self._draw_char(draw, cell, x, top)
            x += cell.width
        self.strips.append(strip)
        return strip.height

    @staticmethod
    def _draw_char(draw: ImageDraw.ImageDraw, cell: Cell, x: int, top: int) -> None:
        f = font(cell.height)
        advance = draw.textlength(cell.char, font=f)
        gx = x + (cell.width - advance) / 2
        baseline = top + round(cell.height * 0.88)  # CJK em box: 0.88 above the baseline, 0.12 below
        for dx in ((0, 1) if cell.bold else (0,)):
            draw.text((gx + dx, baseline), cell.char, font=f, fill=0, anchor="ls")

    def image(self, img: Image.Image, align: int) -> int:
        if img.width > self.dots:
            img = img.crop((0, 0, self.dots, img.height))
        strip = Image.new("L", (self.dots, img.height), 255)
        strip.paste(img.convert("L"), (self._x(img.width, align), 0))
        self.strips.append(strip)
        return img.height

    def png(self, path: str) -> None:
        total = max(1, self.rows)
        out = Image.new("L", (self.dots, total), 255)
        y = 0
        for strip in self.strips:
            out.paste(strip, (0, y))
            y += strip.height
        out.save(path)


def raster_image(data: bytes, width_bytes: int, rows: int, mode: int) -> Image.Image:
    """GS v 0 data → picture (MSB = leftmost dot, 1 = black); mode bit 0 doubles width, bit 1 height."""
    img = Image.frombytes("1", (width_bytes * 8, rows), bytes(b ^ 0xFF for b in data))
    if mode & 1 or mode & 2:
        img = img.resize((img.width * (2 if mode & 1 else 1), img.height * (2 if mode & 2 else 1)))
    return img


def column_image(data: bytes, columns: int, bytes_per_column: int) -> Image.Image:
    """Column-major bit image (FS 2 user characters, ESC *): per column ``bytes_per_column`` bytes
    top→bottom, MSB = top dot."""
    height = bytes_per_column * 8
    img = Image.new("1", (columns, height), 1)
    px = img.load()
    assert px is not None  # a new image always has pixel data
    for x in range(columns):
        for k in range(bytes_per_column):
            value = data[x * bytes_per_column + k]
            for bit in range(8):
                if value & (0x80 >> bit):
                    px[x, k * 8 + bit] = 0
    return img


QR_LEVELS = {48: "l", 49: "m", 50: "q", 51: "h"}


def qr_image(payload: bytes, module: int, level: int) -> Image.Image:
    """The QR symbol a printer would print for stored data (model 2, smallest version), with a
    4-module quiet zone. Raises ValueError when the data does not fit a QR code."""
    try:
        text: str | bytes = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload
    try:
        code = segno.make_qr(text, error=QR_LEVELS.get(level, "m"), boost_error=False)
    except segno.DataOverflowError as exc:
        raise ValueError(str(exc)) from exc
    border = 4
    size = int(code.symbol_size(border=border)[0]) * module
    img = Image.new("1", (size, size), 1)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(code.matrix):
        for x, dark in enumerate(row):
            if dark:
                left, top = (x + border) * module, (y + border) * module
                draw.rectangle((left, top, left + module - 1, top + module - 1), fill=0)
    return img
