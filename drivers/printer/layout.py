"""Pure text layout for receipts: per-character encoding check against the printer profile, display
width (a 2-byte Hanzi is two columns), wrapping that never splits a character, and the small raster
glyphs drawn with an OS CJK font for characters the printer's font cannot print."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess

from PIL import Image, ImageDraw, ImageFont, ImageOps

from drivers.printer.profile import FontSet, PrinterProfile

_CODECS = {FontSet.GB2312: "gbk", FontSet.GBK: "gbk", FontSet.GB18030_2BYTE: "gb18030"}


def _in_font_set(data: bytes, font_set: FontSet) -> bool:
    """GB2312 fonts hold rows A1–A9 (symbols) and B0–F7 (Hanzi), trail bytes A1–FE. The check is on
    the GBK bytes because Python's gb2312 codec maps a few symbols (A1A4 ·, A1AA —) differently."""
    if font_set is not FontSet.GB2312:
        return True
    lead, trail = data
    return (0xA1 <= lead <= 0xA9 or 0xB0 <= lead <= 0xF7) and 0xA1 <= trail <= 0xFE

KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def encode_char(ch: str, profile: PrinterProfile) -> bytes | None:
    """The bytes that print ``ch`` in FS & (Hanzi) mode on this profile, or None when the printer's
    font cannot print it. Decided per character by the encoded length, never by "looks like Hanzi"."""
    code = ord(ch)
    if 0x20 <= code <= 0x7E:
        return ch.encode("ascii")
    if not profile.hanzi:
        return None
    try:
        data = ch.encode(_CODECS[profile.font_set])
    except UnicodeEncodeError:
        data = b""
    if len(data) == 2 and data[0] >= 0x81 and _in_font_set(data, profile.font_set):
        # 0xFE lead bytes are where user-defined characters live on many printers: never use them
        # for font characters, so an FS 2 slot cannot be confused with a real glyph.
        return data if data[0] != 0xFE else None
    if profile.gb18030_4byte:
        try:
            data = ch.encode("gb18030")
        except UnicodeEncodeError:
            return None
        if len(data) == 4:
            return data
    return None


def char_columns(ch: str, profile: PrinterProfile) -> int:
    """Display width in Font A columns: 1 for single-byte characters, 2 for 2-byte Hanzi and for
    characters drawn as a raster glyph (those take a full 24-dot Hanzi cell)."""
    data = encode_char(ch, profile)
    return 1 if data is not None and len(data) == 1 else 2


def text_columns(text: str, profile: PrinterProfile) -> int:
    return sum(char_columns(ch, profile) for ch in text)


def unprintable_chars(text: str, profile: PrinterProfile) -> list[str]:
    """Characters of ``text`` that need a raster glyph, in order of first appearance."""
    seen: dict[str, None] = {}
    for ch in text:
        if encode_char(ch, profile) is None:
            seen.setdefault(ch, None)
    return list(seen)


def wrap(text: str, columns: int, profile: PrinterProfile) -> list[str]:
    """Splits ``text`` into lines of at most ``columns`` display columns at character boundaries.

    ``"".join(wrap(t, ...)) == t`` always holds (spaces are kept); an empty text gives one empty
    line. Raises ValueError when ``columns`` < 2 (a Hanzi would not fit at all).
    """
    if columns < 2:
        raise ValueError("need at least 2 columns to wrap")
    lines: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        width = char_columns(ch, profile)
        if used + width > columns:
            lines.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += width
    lines.append("".join(current))
    return lines


def label_value_lines(label: str, value: str, columns: int, profile: PrinterProfile) -> list[str]:
    """A label on the left and a value flush right on the same line when both fit (one space at
    least between them); otherwise the wrapped label, then the value wrapped and right-aligned."""
    return [head + " " * (column - text_columns(head, profile)) + tail
            for head, column, tail in label_value_rows(label, value, columns, profile)]


def label_value_rows(label: str, value: str, columns: int, profile: PrinterProfile) -> list[tuple[str, int, str]]:
    """The lines of :func:`label_value_lines` as (head, column where the tail starts, tail), so that a
    renderer can reach the column with a tab instead of spaces."""
    label_w, value_w = text_columns(label, profile), text_columns(value, profile)
    if label_w + 1 + value_w <= columns:
        return [(label, columns - value_w, value)]
    rows = [(line, text_columns(line, profile), "") for line in wrap(label, columns, profile)]
    for part in wrap(value, columns, profile):
        rows.append(("", columns - text_columns(part, profile), part))
    return rows


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, int]:
    """Path and face index of a CJK font from the OS (fc-match first, then known paths).

    A monospaced Simplified Chinese face is preferred so that ASCII stays 12 dots wide. Raises
    FileNotFoundError when the system has no CJK font (install fonts-noto-cjk)."""
    candidates: list[str] = []
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans Mono CJK SC:lang=zh-cn"],
                                 capture_output=True, text=True, timeout=5, check=False).stdout.strip()
            if out:
                candidates.append(out)
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += [path for path in KNOWN_FONTS if os.path.exists(path)]
    for path in candidates:
        if not path.lower().endswith((".ttc", ".otc", ".ttf", ".otf")) or not os.path.exists(path):
            continue
        best = None
        for index in range(12):
            try:
                family = ImageFont.truetype(path, 24, index=index).getname()[0] or ""
            except OSError:
                break
            if "CJK SC" in family and "Mono" in family:
                return path, index
            if best is None and ("SC" in family or "Hei" in family):
                best = index
        return path, best or 0
    raise FileNotFoundError("no CJK font found; install fonts-noto-cjk")


@functools.lru_cache(maxsize=8)
def _font(px: int) -> ImageFont.FreeTypeFont:
    path, index = find_cjk_font()
    return ImageFont.truetype(path, px, index=index)


def glyph_image(ch: str, px: int = 24) -> Image.Image:
    """A ``px``×``px`` 1-bit picture of ``ch`` (black = ink), centred in its cell."""
    font = _font(px)
    cell = Image.new("L", (px, px), 255)
    draw = ImageDraw.Draw(cell)
    try:
        advance = draw.textlength(ch, font=font)
        # Same baseline as the printer's own 24-dot font: 0.88 of the cell above it, 0.12 below.
        draw.text(((px - advance) / 2, round(px * 0.88)), ch, font=font, fill=0, anchor="ls")
    except (RuntimeError, ValueError):
        # Line and paragraph breaks (LF, CR, FS–RS, NEL, U+2029) make the text layout fail: such a
        # character has no glyph to draw, so its cell stays blank instead of failing the whole job.
        return Image.new("1", (px, px), 1)
    return cell.point(lambda v: 0 if v < 128 else 255).convert("1")


def line_image(text: str, profile: PrinterProfile, *, size: int = 1, bold: bool = False) -> Image.Image:
    """The whole line drawn as a picture the way the printer would print it as text: each character
    in its own 12- or 24-dot cell (``size`` doubles both), so widths match the text layout."""
    cell = 12 * size
    height = 24 * size
    width = max(1, text_columns(text, profile) * cell)
    img = Image.new("L", (width, height), 255)
    x = 0
    for ch in text:
        cols = char_columns(ch, profile)
        if ch != " ":
            ink = ImageOps.invert(glyph_image(ch, height).convert("L"))
            if cols == 1:  # a half-width character: keep the middle half of its full cell
                ink = ink.crop(((height - cell) // 2, 0, (height - cell) // 2 + cell, height))
            for dx in ((0, 1) if bold else (0,)):  # bold = the glyph struck twice, one dot apart
                img.paste(0, (x + dx, 0, x + dx + ink.width, height), ink)
        x += cols * cell
    return img.point(lambda v: 0 if v < 128 else 255).convert("1")
