"""Pure ESC/POS encoder: command builders (byte-exact per escpos.md) and ``render``, which turns a
``Document`` into the byte pieces of one job for a ``PrinterProfile``. No I/O, no clock."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from PIL import Image as PILImage

from drivers.printer import layout
from drivers.printer.document import QR, Align, Cut, Document, Feed, Image, QrLevel, Rule, Text
from drivers.printer.profile import CutType, PrinterProfile

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
LF = b"\n"
HT = b"\t"
TAB_BYTES = 5  # ESC D n NUL HT
USER_CHAR_LEAD = 0xFE
USER_CHAR_FIRST = 0xA1
LINE_GAP_DOTS = 6  # default line pitch 30 dots minus the 24-dot character height


class RenderError(ValueError):
    """The document cannot be printed on this profile (e.g. QR without native support or image)."""


# --- command builders ---------------------------------------------------------------------------

def initialize() -> bytes:
    return ESC + b"@"


def code_table(n: int = 0) -> bytes:
    """ESC t n: single-byte code page (0 = PC437), used outside Hanzi mode."""
    return ESC + b"t" + bytes([n])


def hanzi_on() -> bytes:
    return FS + b"&"


def hanzi_off() -> bytes:
    return FS + b"."


def align(value: Align) -> bytes:
    return ESC + b"a" + bytes([int(value)])


def bold(on: bool) -> bytes:
    return ESC + b"E" + bytes([1 if on else 0])


def char_size(width: int, height: int) -> bytes:
    """GS ! n: bits 4–7 width−1, bits 0–3 height−1."""
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def hanzi_style(double_width: bool, double_height: bool) -> bytes:
    """FS ! n: bit 2 double width, bit 3 double height, for 2-byte characters."""
    return FS + b"!" + bytes([(0x04 if double_width else 0) | (0x08 if double_height else 0)])


def tab_stop(column: int) -> bytes:
    """ESC D n NUL: one horizontal tab stop at character column ``n`` (1..255), replacing all others."""
    if not 1 <= column <= 255:
        raise ValueError("tab column must be 1..255")
    return ESC + b"D" + bytes([column]) + b"\x00"


def feed_lines(n: int) -> bytes:
    return ESC + b"d" + bytes([max(0, min(255, n))])


def _qr(fn: int, data: bytes) -> bytes:
    size = len(data) + 2
    return GS + b"(k" + bytes([size & 0xFF, size >> 8, 0x31, fn]) + data


def qr_model2() -> bytes:
    """fn 65: ``1D 28 6B 04 00 31 41 32 00``."""
    return _qr(0x41, b"\x32\x00")


def qr_module_size(dots: int) -> bytes:
    """fn 67: module size 1–16 dots. Raises ValueError outside that range."""
    if not 1 <= dots <= 16:
        raise ValueError("QR module size must be 1-16 dots")
    return _qr(0x43, bytes([dots]))


def qr_error_level(level: QrLevel) -> bytes:
    """fn 69: 48 L, 49 M, 50 Q, 51 H."""
    return _qr(0x45, bytes([int(level)]))


def qr_store(data: bytes) -> bytes:
    """fn 80: pL + 256·pH = k + 3. Raises ValueError when k is outside 1–7089."""
    if not 1 <= len(data) <= 7089:
        raise ValueError("QR data must be 1-7089 bytes")
    return _qr(0x50, b"\x30" + data)


def qr_print() -> bytes:
    """fn 81: ``1D 28 6B 03 00 31 51 30``."""
    return _qr(0x51, b"\x30")


def raster(data: bytes, width_bytes: int, rows: int, mode: int = 0) -> bytes:
    """GS v 0: ``1D 76 30 m xL xH yL yH`` + x·y bytes (MSB = leftmost dot, 1 = black)."""
    if len(data) != width_bytes * rows:
        raise ValueError("raster data length must be width_bytes * rows")
    return (GS + b"v0" + bytes([mode, width_bytes & 0xFF, width_bytes >> 8, rows & 0xFF, rows >> 8]) + data)


def cut(partial: bool, feed: int | None = None) -> bytes:
    """GS V 0/1 (full/partial) or, with ``feed``, GS V 65/66 n (feed to the cutter + n, then cut)."""
    if feed is None:
        return GS + b"V" + bytes([1 if partial else 0])
    return GS + b"V" + bytes([66 if partial else 65, feed])


def define_user_char(second_byte: int, columns: bytes) -> bytes:
    """FS 2 FE c2 + 72 bytes: a 24×24 user Hanzi, 3 bytes per column top→bottom, 24 columns."""
    if len(columns) != 72 or not 0xA1 <= second_byte <= 0xFE:
        raise ValueError("user character: 72 bytes at FE A1..FE FE")
    return FS + b"2" + bytes([USER_CHAR_LEAD, second_byte]) + columns


def dle_eot(n: int) -> bytes:
    """Real-time status request 1–4 (printer, offline cause, error cause, paper)."""
    return DLE + b"\x04" + bytes([n])


def transmit_paper_status() -> bytes:
    """GS r 1: paper sensor status, answered in buffer order (after everything before it printed)."""
    return GS + b"r\x01"


def enable_asb(mask: int = 0xFF) -> bytes:
    return GS + b"a" + bytes([mask])


# --- pictures -----------------------------------------------------------------------------------

def to_bits(img: PILImage.Image) -> tuple[bytes, int, int]:
    """Packs a picture into GS v 0 rows: (data, width_bytes, rows); dark pixels (< 128) print."""
    grey = img.convert("L")
    ink = grey.point(lambda v: 255 if v < 128 else 0).convert("1")
    width_bytes = (ink.width + 7) // 8
    return ink.tobytes(), width_bytes, ink.height


def _halved(img: PILImage.Image) -> PILImage.Image | None:
    """``img`` at half size when that loses nothing (every 2×2 block one colour), else None."""
    if img.width % 2 or img.height % 2:
        return None
    bits = img.convert("1")
    half = bits.resize((bits.width // 2, bits.height // 2), PILImage.Resampling.NEAREST)
    again = half.resize(bits.size, PILImage.Resampling.NEAREST)
    return half if again.tobytes() == bits.tobytes() else None


def piece_limit(profile: PrinterProfile) -> int:
    """Largest job piece for the profile's receive buffer, leaving room for the GS r and DLE EOT
    queries the driver sends while the printer still holds a piece."""
    return max(64, profile.buffer_bytes - 32)


def raster_bands(img: PILImage.Image, profile: PrinterProfile, *, allow_quadruple: bool = False) -> list[bytes]:
    """GS v 0 commands for ``img`` in bands that fit both the model's row cap and its receive
    buffer, so that no single command overruns a small clone's buffer. With ``allow_quadruple``, a
    picture made of 2×2 blocks (a QR with an even module) is sent at half size in mode 3 (double
    width and height): a quarter of the bytes for the same print."""
    if img.width > profile.dots:
        img = img.resize((profile.dots, max(1, img.height * profile.dots // img.width)))
    mode = 0
    if allow_quadruple and (half := _halved(img)) is not None:
        img, mode = half, 3
    data, width_bytes, rows = to_bits(img)
    per_band = max(1, min(profile.max_raster_rows, (piece_limit(profile) - 8) // width_bytes))
    if mode == 3:
        per_band = max(1, min(per_band, profile.max_raster_rows // 2))
    bands = []
    for top in range(0, rows, per_band):
        count = min(per_band, rows - top)
        bands.append(raster(data[top * width_bytes:(top + count) * width_bytes], width_bytes, count, mode))
    return bands


def user_char_columns(glyph: PILImage.Image) -> bytes:
    """FS 2 layout of a 24×24 1-bit glyph: per column, three bytes top→bottom, MSB = top dot."""
    px = glyph.convert("1").load()
    assert px is not None  # a converted image always has pixel data
    out = bytearray()
    for x in range(24):
        for group in range(3):
            value = 0
            for bit in range(8):
                if px[x, group * 8 + bit] == 0:  # black pixel = ink
                    value |= 0x80 >> bit
            out.append(value)
    return bytes(out)


# --- renderer -----------------------------------------------------------------------------------

def _printable(text: str) -> str:
    """Control characters other than newline would be commands on the wire: print them as spaces."""
    return "".join(ch if ch == "\n" or unicodedata.category(ch) != "Cc" else " " for ch in text)


@dataclass
class _State:
    """Modes already sent, so each line sends only what changes."""

    align: Align = Align.LEFT
    bold: bool = False
    size: int = 1
    user_chars: dict[str, bytes] = field(default_factory=dict)


class _Renderer:
    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.state = _State()
        self.pieces: list[bytes] = []
        self.buf = bytearray()

    def flush_piece(self) -> None:
        if self.buf:
            self.pieces.append(bytes(self.buf))
            self.buf.clear()

    def modes(self, align_: Align, bold_: bool, size: int) -> None:
        st = self.state
        if align_ != st.align:
            self.buf += align(align_)
            st.align = align_
        if bold_ != st.bold:
            self.buf += bold(bold_)
            st.bold = bold_
        if size != st.size:
            self.buf += char_size(size, size)
            if self.profile.hanzi:
                self.buf += hanzi_style(size > 1, size > 1)
            st.size = size

    def define_user_chars(self, doc: Document) -> None:
        """FS 2 slots for the first characters the font lacks (slots are lost after ESC @, so this
        runs after it in every job)."""
        if not self.profile.hanzi or self.profile.user_chars <= 0:
            return
        wanted: dict[str, None] = {}
        for element in doc:
            if isinstance(element, (Text, Rule)):
                text = element.text + (element.value or "") if isinstance(element, Text) else element.char
                # The same characters the lines will hold: control characters print as spaces.
                for ch in layout.unprintable_chars(_printable(text).replace("\n", " "), self.profile):
                    wanted.setdefault(ch, None)
        for slot, ch in enumerate(list(wanted)[: min(self.profile.user_chars, 0xFE - USER_CHAR_FIRST + 1)]):
            second = USER_CHAR_FIRST + slot
            self.buf += define_user_char(second, user_char_columns(layout.glyph_image(ch, 24)))
            self.state.user_chars[ch] = bytes([USER_CHAR_LEAD, second])

    def encode_line(self, text: str) -> bytes | None:
        """Text bytes of a line, or None when a character has neither a font glyph nor an FS 2 slot."""
        out = bytearray()
        for ch in text:
            data = layout.encode_char(ch, self.profile) or self.state.user_chars.get(ch)
            if data is None:
                return None
            out += data
        return bytes(out)

    def line(self, text: str, align_: Align, bold_: bool, size: int) -> None:
        data = self.encode_line(text)
        if data is not None:
            self.modes(align_, bold_, size)
            self.buf += data + LF
            return
        # Fallback (b) of escpos.md §2 rule 4: this one line as a raster band (24 dots per size step,
        # plus the 6-dot gap of the 30-dot line pitch), drawn cell by cell like text; every other line
        # of the job stays text.
        self.modes(align_, self.state.bold, self.state.size)
        glyphs = layout.line_image(text, self.profile, size=size, bold=bold_)
        band = PILImage.new("1", (glyphs.width, glyphs.height + LINE_GAP_DOTS), 1)
        band.paste(glyphs, (0, 0))
        self.picture(band)

    def picture(self, img: PILImage.Image, allow_quadruple: bool = False) -> None:
        bands = raster_bands(img, self.profile, allow_quadruple=allow_quadruple)
        for band in bands:
            if len(self.buf) + len(band) > piece_limit(self.profile):
                self.flush_piece()
            self.buf += band
            if len(band) > piece_limit(self.profile) // 2:
                self.flush_piece()

    def text(self, element: Text) -> None:
        size = element.size if (element.size - 1) * 0x11 in self.profile.sizes else 1
        columns = self.profile.columns // size
        label = _printable(element.text)
        if element.value is None:
            lines = [line for part in label.split("\n") for line in layout.wrap(part, columns, self.profile)]
        else:
            value = _printable(element.value).replace("\n", " ")
            for head, column, tail in layout.label_value_rows(label.replace("\n", " "), value, columns,
                                                              self.profile):
                self.tabbed_line(head, column, tail, element.align, element.bold, size)
            return
        for text in lines:
            self.line(text, element.align, element.bold, size)

    def tabbed_line(self, head: str, column: int, tail: str, align_: Align, bold_: bool, size: int) -> None:
        """``head``, then ``tail`` from ``column`` on. A long gap is one tab stop set for this line (ESC D
        column NUL, HT: 5 bytes, in character columns whatever the font) instead of up to 40 spaces."""
        gap = column - layout.text_columns(head, self.profile)
        head_b, tail_b = self.encode_line(head), self.encode_line(tail)
        if gap <= TAB_BYTES or size != 1 or align_ is not Align.LEFT or head_b is None or tail_b is None \
                or not tail:
            self.line(head + " " * gap + tail if tail else head, align_, bold_, size)
            return
        self.modes(align_, bold_, size)
        self.buf += head_b + tab_stop(column) + HT + tail_b + LF

    def qr(self, element: QR) -> None:
        if self.profile.native_qr:
            self.modes(element.align, self.state.bold, self.state.size)
            module = max(1, min(element.module, self.profile.max_qr_module, 16))
            self.buf += (qr_model2() + qr_module_size(module) + qr_error_level(element.level)
                         + qr_store(element.payload.encode("utf-8")) + qr_print())
            return
        image = element.picture()
        if image is None:
            raise RenderError(f"profile {self.profile.name} has no native QR and the QR has no image")
        self.modes(element.align, self.state.bold, self.state.size)
        # The picture carries no quiet zone: a fed line above and below is cheaper than white rows.
        self.buf += feed_lines(1)
        self.picture(image, allow_quadruple=True)
        self.buf += feed_lines(1)

    def cut(self, element: Cut) -> None:
        kind = self.profile.cut
        if kind is CutType.NONE:
            self.buf += feed_lines(4)
        else:
            partial = kind is CutType.PARTIAL or element.partial
            self.buf += cut(partial, feed=3)

    def render(self, doc: Document, *, asb: bool, confirm: bool) -> list[bytes]:
        self.buf += initialize() + code_table(0)
        if self.profile.hanzi:
            self.buf += hanzi_on()
        if asb:
            self.buf += enable_asb(0x0E)  # on/offline, error, paper changes
        self.define_user_chars(doc)
        for element in doc:
            if isinstance(element, Text):
                self.text(element)
            elif isinstance(element, QR):
                self.qr(element)
            elif isinstance(element, Image):
                self.modes(element.align, self.state.bold, self.state.size)
                self.picture(element.image)
            elif isinstance(element, Rule):
                self.line((element.char or "-") * self.profile.columns, Align.LEFT, False, 1)
            elif isinstance(element, Feed):
                self.buf += feed_lines(element.lines)
            elif isinstance(element, Cut):
                self.cut(element)
            else:
                raise RenderError(f"unknown document element {type(element).__name__}")
            if len(self.buf) >= piece_limit(self.profile) * 3 // 4:
                self.flush_piece()
        if confirm:
            self.buf += transmit_paper_status()
        self.flush_piece()
        return self.pieces


def render_pieces(doc: Document, profile: PrinterProfile, *, asb: bool = False,
                  confirm: bool = True) -> list[bytes]:
    """The job as pieces that each end on a command boundary and fit the profile's receive buffer
    where possible (a piece larger than the buffer holds one raster band only).

    The job starts ESC @, ESC t 0, FS &; with ``confirm`` it ends with GS r 1 (proof of print).
    Raises RenderError when an element cannot be printed on this profile."""
    return _Renderer(profile).render(doc, asb=asb, confirm=confirm)


def render(doc: Document, profile: PrinterProfile, *, asb: bool = False, confirm: bool = True) -> bytes:
    """The whole job as one byte string (see ``render_pieces``)."""
    return b"".join(render_pieces(doc, profile, asb=asb, confirm=confirm))
