"""An ESC/POS byte interpreter written from escpos.md: text in code pages and Hanzi (GB18030 2-byte)
mode, styles, GS v 0 raster, GS ( k QR, FS 2 user characters, cuts, and replies to DLE EOT, GS r and
ASB from the simulated printer state. Unknown or malformed input becomes a warning, never an error."""
from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from simulators.printer.canvas import Cell, Roll
from simulators.printer.commands import CODE_PAGES, NEED_MORE, Commands
from simulators.printer.job import Job, PaperState

__all__ = ["Interpreter", "Job", "PaperState"]


class Interpreter(Commands):
    """Feed it the host's bytes; it returns the printer's reply bytes and records jobs.

    ``paper_mm`` limits the roll (None = endless); ``on_change`` is called with a state name when the
    paper, cover or online state changes (for the CLI's JSON lines)."""

    def __init__(self, dots: int = 576, paper: PaperState = PaperState.OK, paper_mm: float | None = None,
                 hanzi_default: bool = False, on_change: Callable[[str, str], None] | None = None,
                 buffer_bytes: int = 0) -> None:
        self.dots = dots
        self.paper = paper
        self.paper_rows_left = None if paper_mm is None else int(paper_mm * 8)
        self.cover_open = False
        self.offline_switch = False
        self.hanzi_default = hanzi_default
        self.on_change = on_change
        self.asb_mask = 0
        self.buffer_bytes = buffer_bytes  # receive buffer; 0 = unlimited
        self.rows_printed = 0             # dot rows the mechanism has printed, all jobs together
        self.idle = True                  # nothing left that could be processed now
        self.user_chars: dict[int, Image.Image] = {}
        self.completed: list[Job] = []  # jobs ended by a cut, for the caller to collect
        self._cut_done = False
        self._rt = b""           # the last two bytes, for DLE EOT scanning across chunks
        self._pending = bytearray()
        self._replies = bytearray()
        self._reset_modes()
        self._new_job()

    # --- state --------------------------------------------------------------------------------
    def _reset_modes(self) -> None:
        self.align = 0
        self.bold = False
        self.width_mul = self.height_mul = 1
        self.hanzi_wide = self.hanzi_tall = False
        self.hanzi = self.hanzi_default
        self.code_page = 0
        self.qr_data = b""
        self.qr_module = 3
        self.qr_level = 48
        self.tab_stops = [n * 12 for n in range(8, 256, 8)]  # dots; default: every 8 characters
        self.cells: list[Cell] = []
        self.line_text: list[str] = []

    def _new_job(self) -> None:
        self.job = Job()
        self.roll = Roll(self.dots)
        self._printed = False

    @property
    def offline(self) -> bool:
        return self.cover_open or self.offline_switch or self.paper is PaperState.OUT

    @property
    def has_job(self) -> bool:
        return self._printed or bool(self.job.warnings) or bool(self.job.cuts) or bool(self.cells)

    def set_paper(self, state: PaperState, paper_mm: float | None = None) -> None:
        self.paper = state
        if state is not PaperState.OUT:
            self.paper_rows_left = None if paper_mm is None else int(paper_mm * 8)
        self._changed("paper", state.value)

    def set_cover(self, is_open: bool) -> None:
        self.cover_open = is_open
        self._changed("cover", "open" if is_open else "closed")

    def set_offline(self, on: bool) -> None:
        self.offline_switch = on
        self._changed("online", "off" if on else "on")

    def _changed(self, what: str, value: str) -> None:
        if self.on_change:
            self.on_change(what, value)
        if self.asb_mask:
            self._replies += self.asb_frame()
        if not self.offline and self._pending:
            self.run()  # data held while offline prints now

    # --- replies ------------------------------------------------------------------------------
    def dle_eot_reply(self, n: int) -> int:
        value = 0x12
        if n == 1 and self.offline:
            value |= 0x08
        elif n == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper is PaperState.OUT else 0)
        elif n == 4:
            value |= {PaperState.OK: 0, PaperState.NEAR_END: 0x0C, PaperState.OUT: 0x60}[self.paper]
        return value

    def asb_frame(self) -> bytes:
        b1 = 0x10 | (0x08 if self.offline else 0) | (0x20 if self.cover_open else 0)
        b3 = {PaperState.OK: 0, PaperState.NEAR_END: 0x03, PaperState.OUT: 0x0F}[self.paper]
        return bytes([b1, 0x00, b3, 0x00])

    def take_replies(self) -> bytes:
        out, self._replies = bytes(self._replies), bytearray()
        return out

    # --- input --------------------------------------------------------------------------------
    @property
    def buffered(self) -> int:
        """Bytes received and not yet processed (the receive buffer's fill)."""
        return len(self._pending)

    def feed(self, data: bytes, process: bool = True) -> bytes:
        """Takes host bytes into the receive buffer and, with ``process``, interprets them; returns
        reply bytes. Real-time DLE EOT/ENQ are answered on arrival wherever they appear, inside raster
        or QR data too (escpos.md §5). Bytes beyond a full receive buffer are lost, as on a printer
        driven without flow control."""
        for b in data:
            if self._rt == b"\x10\x04" and 1 <= b <= 4:
                self._replies.append(self.dle_eot_reply(b))
            elif self._rt == b"\x10\x05" and b == 2:
                self._pending.clear()  # DLE ENQ 2: recover and clear buffers
            self._rt = (self._rt + bytes([b]))[-2:]
        if self.buffer_bytes and len(self._pending) + len(data) > self.buffer_bytes:
            room = max(0, self.buffer_bytes - len(self._pending))
            self._warn(f"receive buffer overflow: {len(data) - room} bytes lost")
            data = data[:room]
        self._pending += data
        self.idle = False
        if process:
            self.run()
        return self.take_replies()

    def finish_job(self, silence: bool = False) -> Job | None:
        """Ends the current job (a cut, or ``silence``): prints a pending line, after silence warns
        about a truncated command, and returns the job (None if nothing happened)."""
        if silence and self._pending and not self.offline:
            self.job.warnings.append(f"incomplete command at end of job: {bytes(self._pending[:8]).hex(' ')}")
            self.job.bytes += len(self._pending)
            self._pending.clear()
        if self.cells:
            self._print_line()
        if not self.has_job:
            self.job.bytes = 0
            return None
        job = self.job
        job.roll = self.roll
        self._new_job()
        return job

    def run(self, max_rows: float | None = None) -> None:
        """Interprets buffered bytes. With ``max_rows`` (the mechanism's budget), stops once that many
        dot rows were printed, leaving the rest buffered; ``idle`` tells whether anything is left
        that could be processed now."""
        buf = self._pending
        pos = 0
        start = self.rows_printed
        self.idle = True
        while pos < len(buf):
            if self.offline and self.paper is not PaperState.OUT:
                break  # hold the rest until the printer is back online
            if max_rows is not None and self.rows_printed - start >= max_rows:
                self.idle = False
                break
            used = self._command(buf, pos)
            if used == NEED_MORE:
                break
            pos += used
            if self._cut_done:
                self._cut_done = False
                job = self.finish_job()
                if job is not None:
                    self.completed.append(job)
        del buf[:pos]

    # --- commands -----------------------------------------------------------------------------
    def _command(self, buf: bytearray, pos: int) -> int:
        b = buf[pos]
        if b == 0x10:
            return self._dle(buf, pos)
        self.job.bytes += 1  # counted byte by byte as consumed (commands add their own remainder)
        if b == 0x0A:
            self._print_line(feed_if_empty=True)
            return 1
        if b in (0x0D, 0x00):
            return 1
        if b == 0x09:
            self._tab()
            return 1
        if b == 0x1B:
            return self._counted(self._esc(buf, pos))
        if b == 0x1D:
            return self._counted(self._gs(buf, pos))
        if b == 0x1C:
            return self._counted(self._fs(buf, pos))
        if b < 0x20 or b == 0x7F:
            self._warn(f"unknown control byte {b:02x}")
            return 1
        return self._counted(self._text(buf, pos))

    def _counted(self, used: int) -> int:
        if used == NEED_MORE:
            self.job.bytes -= 1  # will be counted again when complete
        elif used > 1:
            self.job.bytes += used - 1
        return used

    # --- text ---------------------------------------------------------------------------------
    def _text(self, buf: bytearray, pos: int) -> int:
        b = buf[pos]
        if b < 0x80:
            self._add_char(chr(b))
            return 1
        if not self.hanzi:
            codec = CODE_PAGES.get(self.code_page, "cp437")
            self._add_char(bytes([b]).decode(codec, errors="replace"))
            return 1
        if pos + 1 >= len(buf):
            return NEED_MORE
        second = buf[pos + 1]
        if b == 0xFE and second in self.user_chars:
            self._add_cell(Cell(24 * self._hw(), 24 * self._hh(), bitmap=self.user_chars[second]), "\ufffc")
            self.job.user_chars.append(f"fe{second:02x}")
            return 2
        if 0x30 <= second <= 0x39 and 0x81 <= b <= 0xFE:
            if pos + 3 >= len(buf):
                return NEED_MORE
            seq = bytes(buf[pos:pos + 4])
            char = seq.decode("gb18030", errors="replace")
            self._warn(f"4-byte GB18030 {seq.hex(' ')} ({char}) outside 2-byte GB18030: printed garbled")
            self._add_cell(Cell(24 * self._hw(), 24 * self._hh(), char="?"), "?")
            return 4
        if 0x81 <= b <= 0xFE and 0x40 <= second <= 0xFE and second != 0x7F:
            char = bytes([b, second]).decode("gb18030", errors="replace")
            if char == "\ufffd" or b == 0xFE:
                self._warn(f"undefined 2-byte character {b:02x} {second:02x}")
                char = "?"
            self._add_cell(Cell(24 * self._hw(), 24 * self._hh(), char=char, bold=self.bold), char)
            return 2
        self._warn(f"invalid byte {b:02x} in Hanzi mode")
        return 1

    def _hw(self) -> int:
        return max(self.width_mul, 2 if self.hanzi_wide else 1)

    def _hh(self) -> int:
        return max(self.height_mul, 2 if self.hanzi_tall else 1)

    def _tab(self) -> None:
        """HT: blank up to the next tab stop right of the print position; ignored when there is none
        within the line (or none set)."""
        x = sum(c.width for c in self.cells)
        stop = next((t for t in sorted(self.tab_stops) if t > x), None)
        if stop is None or stop > self.dots:
            return
        self.cells.append(Cell(stop - x, 24 * self.height_mul, char=" "))
        self.line_text.append(" " * max(1, (stop - x) // 12))

    def _add_char(self, ch: str) -> None:
        self._add_cell(Cell(12 * self.width_mul, 24 * self.height_mul, char=ch, bold=self.bold), ch)

    def _add_cell(self, cell: Cell, text: str) -> None:
        if sum(c.width for c in self.cells) + cell.width > self.dots:
            self._print_line()  # the printer wraps a full line by itself
        self.cells.append(cell)
        self.line_text.append(text)

    def _print_line(self, feed_if_empty: bool = False) -> None:
        """Prints the line buffer. Only LF feeds a line when the buffer is empty; commands that work
        "at line start" (raster, QR, cut) just print what is pending."""
        if not self.cells and not feed_if_empty:
            return
        cells, text = self.cells, "".join(self.line_text)
        self.cells, self.line_text = [], []
        if self._draw(lambda: self.roll.text_line(cells, self.align)):
            self.job.text.append(text)

    def _feed_rows(self, rows: int) -> None:
        self._draw(lambda: self.roll.feed(rows))

    def _draw(self, action: Callable[[], int]) -> bool:
        """Runs a printing action unless the paper has ended; consumes the roll and runs out of paper
        when the rows used pass the end. Returns False when nothing was printed."""
        if self.paper is PaperState.OUT:
            self._warn("data past the paper end")
            return False
        rows = action()
        self.rows_printed += rows
        self._printed = True
        if self.paper_rows_left is not None:
            self.paper_rows_left -= rows
            if self.paper_rows_left <= 0:
                self._warn("paper ran out during the job")
                self.paper = PaperState.OUT
                self._changed("paper", "out")
        return True
