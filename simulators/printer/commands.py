"""The ESC/POS command families the simulated printer understands (DLE, ESC, FS, GS): parameter
lengths, QR, raster, cuts and status replies, written from escpos.md. Mixed into ``Interpreter``."""
from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from simulators.printer.canvas import Cell, Roll, column_image, qr_image, raster_image
from simulators.printer.job import Job, PaperState

CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 17: "cp866", 18: "cp852"}
NEED_MORE = -1


class Commands:
    """Command handlers: each takes the buffer and the command's position and returns the bytes it
    used, or NEED_MORE when the command is not complete yet."""

    job: Job
    roll: Roll
    paper: PaperState
    align: int
    bold: bool
    width_mul: int
    height_mul: int
    hanzi: bool
    hanzi_wide: bool
    hanzi_tall: bool
    code_page: int
    qr_data: bytes
    qr_module: int
    qr_level: int
    tab_stops: list[int]
    asb_mask: int
    cells: list[Cell]
    line_text: list[str]
    user_chars: dict[int, Image.Image]
    _replies: bytearray
    _cut_done: bool
    _reset_modes: Callable[[], None]
    _print_line: Callable[..., None]
    _feed_rows: Callable[[int], None]
    _add_char: Callable[[str], None]
    _draw: Callable[..., bool]
    asb_frame: Callable[[], bytes]

    def _warn(self, message: str) -> None:
        if len(self.job.warnings) < 200:
            self.job.warnings.append(message)

    def _dle(self, buf: bytearray, pos: int) -> int:
        if pos + 1 >= len(buf):
            return NEED_MORE
        second = buf[pos + 1]
        size = {0x04: 3, 0x05: 3, 0x14: 5}.get(second)
        if size is None:
            self.job.bytes += 1
            self._warn(f"unknown command 10 {second:02x}")
            return 1
        if pos + size > len(buf):
            return NEED_MORE
        return size  # already answered by the real-time scan in feed()

    def _esc(self, buf: bytearray, pos: int) -> int:
        if pos + 1 >= len(buf):
            return NEED_MORE
        c = chr(buf[pos + 1])
        one = buf[pos + 2] if pos + 2 < len(buf) else -1  # -1: the argument byte has not arrived yet
        if c == "@":
            self._reset_modes()
            return 2
        if c in "im":
            self._cut("partial")
            return 2
        if c == "2":
            return 2
        if c == "D":  # tab stops: NUL-terminated list of columns, each counted in the current character width
            end = buf.find(b"\x00", pos + 2)
            if end < 0:
                return NEED_MORE
            self.tab_stops = [n * 12 * self.width_mul for n in buf[pos + 2:end]]
            return end - pos + 1
        if c in "a!EGdtJM-3V{R aeUc$\\*pK=" and one < 0:
            return NEED_MORE
        if c == "a":
            self.align = one % 48 if one % 48 <= 2 else 0
        elif c == "!":
            self.bold = bool(one & 0x08)
            self.height_mul = 2 if one & 0x10 else 1
            self.width_mul = 2 if one & 0x20 else 1
        elif c in "EG":
            self.bold = bool(one & 1)
        elif c == "d":
            self._print_line(feed_if_empty=one > 0)
            self._feed_rows(max(0, one - 1) * 30)
        elif c == "J":
            self._print_line()
            self._feed_rows(one)
        elif c == "t":
            if one not in CODE_PAGES:
                self._warn(f"code table {one} not modelled, using PC437")
            self.code_page = one
        elif c in "$\\" or c == "c":
            return NEED_MORE if pos + 4 > len(buf) else 4
        elif c == "p":
            return NEED_MORE if pos + 5 > len(buf) else 5
        elif c == "*":
            return self._bit_image(buf, pos)
        elif c not in "M-3V{R aeUK=":
            self._warn(f"unknown command 1b {buf[pos + 1]:02x}")
            return 2
        return 3

    def _bit_image(self, buf: bytearray, pos: int) -> int:
        if pos + 5 > len(buf):
            return NEED_MORE
        m, n = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
        per_column = 3 if m in (32, 33) else 1
        end = pos + 5 + n * per_column
        if end > len(buf):
            return NEED_MORE
        if m not in (0, 1, 32, 33):
            self._warn(f"ESC * mode {m} not supported")
            return 5
        img = column_image(bytes(buf[pos + 5:end]), n, per_column)
        self.cells.append(Cell(width=n, height=img.height, bitmap=img))
        self.line_text.append("\ufffc")
        return end - pos

    def _fs(self, buf: bytearray, pos: int) -> int:
        if pos + 1 >= len(buf):
            return NEED_MORE
        c = chr(buf[pos + 1])
        if c == "&":
            self.hanzi = True
            return 2
        if c == ".":
            self.hanzi = False
            return 2
        if c == "2":
            return self._user_char(buf, pos)
        if c in "!-WC":
            if pos + 2 >= len(buf):
                return NEED_MORE
            if c == "!":
                self.hanzi_wide, self.hanzi_tall = bool(buf[pos + 2] & 0x04), bool(buf[pos + 2] & 0x08)
            elif c == "W":
                self.hanzi_wide = self.hanzi_tall = bool(buf[pos + 2] & 1)
            return 3
        if c in "Sp":
            return NEED_MORE if pos + 4 > len(buf) else 4
        self._warn(f"unknown command 1c {buf[pos + 1]:02x}")
        return 2

    def _user_char(self, buf: bytearray, pos: int) -> int:
        end = pos + 4 + 72
        if end > len(buf):
            return NEED_MORE
        c1, c2 = buf[pos + 2], buf[pos + 3]
        if c1 != 0xFE or not 0xA1 <= c2 <= 0xFE:
            self._warn(f"FS 2 at {c1:02x} {c2:02x} outside FE A1..FE FE")
        else:
            self.user_chars[c2] = column_image(bytes(buf[pos + 4:end]), 24, 3)
        return end - pos

    def _gs(self, buf: bytearray, pos: int) -> int:
        if pos + 1 >= len(buf):
            return NEED_MORE
        c = chr(buf[pos + 1])
        if c == "v":
            return self._raster(buf, pos)
        if c == "(":
            return self._gs_paren(buf, pos)
        if c == "V":
            return self._gs_cut(buf, pos)
        if c == "k":
            return self._barcode(buf, pos)
        if pos + 2 >= len(buf):
            return NEED_MORE
        n = buf[pos + 2]
        if c == "!":
            self.width_mul, self.height_mul = (n >> 4) + 1, (n & 0x0F) + 1
        elif c == "r":
            self._gs_r(n)
            self.job.bytes -= 3  # a proof-of-print query, not part of the job's size
        elif c == "a":
            self.asb_mask = n
            if n:
                self._replies += self.asb_frame()
        elif c == "I":
            names = {65: b"1.0", 66: b"KIOSK-SIM", 67: b"ESCPOS-SIM"}
            if n in names:
                self._replies += b"\x5f" + names[n] + b"\x00"
        elif c in "LWP$\\":
            return NEED_MORE if pos + 4 > len(buf) else 4
        elif c not in "BbHhwfE/":
            self._warn(f"unknown command 1d {buf[pos + 1]:02x}")
            return 2
        return 3

    def _gs_r(self, n: int) -> None:
        if self.paper is PaperState.OUT:
            self._warn("GS r not answered: paper end")
            return
        if n in (1, 49):
            self._print_line()
            self._replies.append(0x03 if self.paper is PaperState.NEAR_END else 0x00)
        else:
            self._replies.append(0x00)

    def _gs_cut(self, buf: bytearray, pos: int) -> int:
        if pos + 2 >= len(buf):
            return NEED_MORE
        m = buf[pos + 2]
        size = 4 if m in (65, 66, 97, 98, 103, 104) else 3
        if pos + size > len(buf):
            return NEED_MORE
        self._print_line()
        if size == 4:
            self._feed_rows(buf[pos + 3] + 48)  # to the cutter (about 6 mm) + n dots
        self._cut("full" if m in (0, 48, 65, 97, 103) else "partial")
        return size

    def _cut(self, kind: str) -> None:
        if self.paper is PaperState.OUT:
            self._warn("cut past the paper end")
            return
        self.job.cuts.append(kind)
        self._cut_done = True  # the job ends once this command is counted

    def _barcode(self, buf: bytearray, pos: int) -> int:
        if pos + 2 >= len(buf):
            return NEED_MORE
        m = buf[pos + 2]
        if m <= 6:
            end = buf.find(b"\x00", pos + 3)
            size = NEED_MORE if end < 0 else end - pos + 1
        else:
            size = NEED_MORE if pos + 3 >= len(buf) else 4 + buf[pos + 3]
            if size != NEED_MORE and pos + size > len(buf):
                size = NEED_MORE
        if size != NEED_MORE:
            self._warn("1D barcode (GS k) not drawn by the simulator")
        return size

    def _raster(self, buf: bytearray, pos: int) -> int:
        if pos + 8 > len(buf):
            return NEED_MORE
        if buf[pos + 2] != 0x30:
            self._warn(f"unknown command 1d 76 {buf[pos + 2]:02x}")
            return 3
        m = buf[pos + 3]
        x = buf[pos + 4] | buf[pos + 5] << 8
        y = buf[pos + 6] | buf[pos + 7] << 8
        end = pos + 8 + x * y
        if end > len(buf):
            return NEED_MORE
        if m % 48 > 3 or x == 0 or y == 0:
            self._warn(f"malformed GS v 0 (m={m}, x={x}, y={y})")
            return end - pos
        self._print_line()
        img = raster_image(bytes(buf[pos + 8:end]), x, y, m % 48)
        self.job.images.append({"kind": "raster", "width": img.width, "height": img.height})
        self._draw(lambda: self.roll.image(img, self.align))
        return end - pos

    def _gs_paren(self, buf: bytearray, pos: int) -> int:
        if pos + 5 > len(buf):
            return NEED_MORE
        fn_letter, size = chr(buf[pos + 2]), buf[pos + 3] | buf[pos + 4] << 8
        end = pos + 5 + size
        if end > len(buf):
            return NEED_MORE
        body = bytes(buf[pos + 5:end])
        if fn_letter == "k" and len(body) >= 2 and body[0] == 0x31:
            self._qr(body[1], body[2:])
        elif fn_letter not in "kDEAH":
            self._warn(f"unknown command 1d 28 {buf[pos + 2]:02x}")
        elif fn_letter == "k":
            self._warn(f"2D symbol cn={body[:1].hex()} not supported")
        return end - pos

    def _qr(self, fn: int, data: bytes) -> None:
        if fn == 0x41:
            if data[:1] not in (b"\x31", b"\x32", b"\x33"):
                self._warn("QR model: bad parameter")
        elif fn == 0x43:
            if data and 1 <= data[0] <= 16:
                self.qr_module = data[0]
            else:
                self._warn("QR module size outside 1-16")
        elif fn == 0x45:
            if data and 48 <= data[0] <= 51:
                self.qr_level = data[0]
            else:
                self._warn("QR error level outside 48-51")
        elif fn == 0x50:
            self.qr_data = data[1:]
        elif fn == 0x51:
            self._print_qr()
        elif fn != 0x52:
            self._warn(f"QR function {fn} not supported")

    def _print_qr(self) -> None:
        self._print_line()
        if not self.qr_data:
            self._warn("QR print with no stored data")
            return
        try:
            img = qr_image(self.qr_data, self.qr_module, self.qr_level)
        except ValueError as exc:
            self._warn(f"QR data does not fit: {exc}")
            return
        self.job.qr.append(self.qr_data.decode("utf-8", errors="replace"))
        self.job.images.append({"kind": "qr", "width": img.width, "height": img.height})
        self._draw(lambda: self.roll.image(img, self.align))
