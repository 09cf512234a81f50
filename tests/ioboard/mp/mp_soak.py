"""Soak of the whole firmware loop under MicroPython: 30 days of board time on a clock that wraps like the
RP2040's (2**30 ms), with the boot guard in the watchdog's feed as on the board, and a Pi that sends
heartbeats, commands, CONFIG, garbage and acknowledgements while the inputs change. Asserts that the
loop allocates nothing after warm-up (gc.mem_free() with the collector off), that every number the
firmware keeps stays inside the RP2040's small-int range, and that the board still does its job
across the wraps.

Usage: micropython -X heapsize=192K mp_soak.py DOC_PATH FLASH_DIR [DAYS]"""
import gc
import sys

import frames as fr
from app import App
from fakeboard import TICKS_HALF, TICKS_MAX, FakeBoard
from fwboot import Guard
from mptest import check, equal, run

FLASH = sys.argv[2] if len(sys.argv) > 2 else "/tmp/ioboard-soak"
DAYS = int(sys.argv[3]) if len(sys.argv) > 3 else 30
DAY_MS = 86400000
SMALL_INT_MIN = -(1 << 30)  # a 32-bit port's small ints: 31 bits, signed
SMALL_INT_MAX = (1 << 30) - 1
QUIET_MS = 150  # over the firmware's frame_gap_ms


def _noise():
    state = 4242
    out = bytearray()
    for _ in range(240):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((state >> 16) & 0xFF)
        if state & 0x700 == 0:
            out.extend(b"\xa5\x5a")  # false starts of frame
    return bytes(out)


NOISE = _noise()


class Pi:
    """The host end, allocation-free like the loop it drives: it finds the board's frames with the
    firmware's own parser, counts them by type and acknowledges events."""

    def __init__(self, board):
        self.board = board
        self.parser = fr.Parser()
        self.tx = fr.Writer()
        self.counts = [0] * 256
        self.seq = 0
        self.event_to_ack = -1
        self.last_event_seq = -1
        self.events_seen = 0
        self.ignored = 0
        self.event_repeats = 0  # an EVENT with the seq of the previous one: sent again
        self.last_uptime = 0
        board.uart.sink = self.receive

    def receive(self, buf, count):
        parser = self.parser
        parser.push(buf, count)
        while parser.next(False):
            ftype = parser.ftype
            self.counts[ftype] += 1
            if ftype == fr.EVENT:
                if parser.seq == self.last_event_seq:
                    self.event_repeats += 1
                    self.event_to_ack = parser.seq
                else:
                    self.last_event_seq = parser.seq
                    self.events_seen += 1
                    if self.events_seen % 7:
                        self.event_to_ack = parser.seq
                    else:
                        self.ignored += 1  # as if our ACK were lost: the board must send it again
            elif ftype == fr.HEARTBEAT and parser.plen == 12:
                p = parser.payload
                self.last_uptime = (p[8] << 24) | (p[9] << 16) | (p[10] << 8) | p[11]

    def send(self, ftype, a=-1, b=-1, c=-1, d=-1, e=-1):
        tx = self.tx
        tx.begin(ftype, self.seq)
        self.seq = (self.seq + 1) & 0xFF
        if a >= 0:
            tx.byte(a)
        if b >= 0:
            tx.byte(b)
        if c >= 0:
            tx.byte(c)
        if d >= 0:
            tx.byte(d)
        if e >= 0:
            tx.byte(e)
        self.board.uart.put(tx.buf, 0, tx.finish())


def make(start):
    board = FakeBoard(start=start, root=FLASH + "/", record=False, tracing=False)
    guard = Guard(board)
    guard.recover()
    guard.install()
    app = App(board, guard, heartbeat_timeout_ms=120000, boot_grace_ms=300000, min_cycle_ms=900000)
    pi = Pi(board)
    pi.send(fr.HELLO, fr.PROTOCOL_VERSION)
    return board, app, pi


def drive(board, app, pi, iterations, step_ms, first=0):
    """The Pi's side of ``iterations`` loop passes, ``step_ms`` of board time each."""
    for i in range(first, first + iterations):
        phase = i % 40
        if phase == 0 or step_ms > 1000:
            pi.send(fr.HEARTBEAT)
        if phase == 5:
            pi.send(fr.SET_LIGHT, 1 + (i // 40) % 3, 1 + (i // 120) % 3)
        elif phase == 10:
            pi.send(fr.BUZZ, (i // 40) % 5)
        elif phase == 15:
            board.uart.put(NOISE, (i * 7) % 200, 37)
        elif phase == 20:
            pi.send(fr.GET_STATUS)
        elif phase == 25:
            pi.send(fr.CONFIG, 5, 0, 0, 0, 20 + (i // 40) % 20)
        elif phase == 28:
            pi.send(fr.SET_LIGHT, 9, 9)  # refused: NAK, never an error
        elif phase == 30:
            board.presence.value(1 - board.presence.level)
        elif phase == 35 and (i // 40) % 4 == 0:
            board.tamper.value(1 - board.tamper.level)
        if pi.event_to_ack >= 0:
            pi.send(fr.ACK, pi.event_to_ack)
            pi.event_to_ack = -1
        app.step()
        if step_ms > QUIET_MS:
            # Long steps stand for a quiet line between the Pi's frames: the board sees it go quiet
            # (and drops a stale partial frame) before the next frame comes.
            board.idle(QUIET_MS)
            app.step()
            board.idle(step_ms - QUIET_MS)
        else:
            board.idle(step_ms)


def allocated(board, app, pi, iterations, step_ms, first):
    """Bytes of heap the loop (and this allocation-free driver) took over ``iterations`` passes."""
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_free()
        drive(board, app, pi, iterations, step_ms, first)
        return before - gc.mem_free()
    finally:
        gc.enable()


def ints_out_of_range(obj, path, seen, out):
    """Every int reachable from ``obj`` (instances, lists, tuples, dicts) outside the small-int range."""
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, int):
        if obj < SMALL_INT_MIN or obj > SMALL_INT_MAX:
            out.append(path)
        return
    if id(obj) in seen or isinstance(obj, (str, bytes, bytearray)):
        return
    seen[id(obj)] = True
    if isinstance(obj, dict):
        for key in obj:
            ints_out_of_range(obj[key], path + "[" + repr(key) + "]", seen, out)
    elif isinstance(obj, (list, tuple)):
        for index, item in enumerate(obj):
            ints_out_of_range(item, path + "[" + str(index) + "]", seen, out)
    elif hasattr(obj, "__dict__") and not callable(obj):
        for key in obj.__dict__:
            ints_out_of_range(obj.__dict__[key], path + "." + key, seen, out)


def check_small_ints(app):
    out = []
    ints_out_of_range(app, "app", {}, out)
    equal(out, [], "ints a 32-bit port would have to allocate")


def test_no_allocation_across_the_wrap():
    # 10 s before the ticks wrap at 2**30: the old firmware's ms counter left the small ints here.
    board, app, pi = make(TICKS_MAX - 9998)  # not on the 5 ms grid: the wrap falls between two passes
    drive(board, app, pi, 400, 5)  # warm-up: first frames, first events, first traces of every kind
    for window in range(5):
        equal(allocated(board, app, pi, 1000, 5, 400 + window * 1000), 0, "bytes allocated, window %d" % window)
    check(board.clock < 20000, "the clock wrapped")
    equal(app.errors, 0, "handler errors")
    check(pi.counts[fr.ACK] > 100 and pi.counts[fr.NAK] > 10, "commands answered")
    check(pi.counts[fr.EVENT] > 100, "input events sent")
    # Each event we ignored came once more (the last may still be waiting for its retry).
    check(pi.ignored - 1 <= pi.event_repeats <= pi.ignored, "%d repeats for %d unacknowledged events"
          % (pi.event_repeats, pi.ignored))
    equal(app.events.dropped, 0, "events lost")
    beats = pi.counts[fr.HEARTBEAT]
    check(13 <= beats <= 15, "%d board heartbeats in 27 s, want one every 2 s" % beats)
    equal(app.relay.active, False, "the Pi was never power-cycled while it sent heartbeats")
    check(app.parser.bad > 0, "garbage counted")
    check_small_ints(app)


def test_no_allocation_around_half_period():
    # Where ticks_diff's sign turns: a firmware that compares raw ticks misbehaves here.
    board, app, pi = make(TICKS_HALF - 2998)
    drive(board, app, pi, 400, 5)
    equal(allocated(board, app, pi, 2000, 5, 400), 0, "bytes allocated")
    equal(app.errors, 0, "handler errors")
    equal(app.watchdog.cycles, 0, "no power cycle")


def test_thirty_days_of_ticks():
    board, app, pi = make(TICKS_MAX - 59998)
    drive(board, app, pi, 400, 5)
    step = 30000
    per_day = DAY_MS // step
    for day in range(DAYS):
        got = allocated(board, app, pi, per_day, step, 400 + day * per_day)
        equal(got, 0, "bytes allocated on day %d" % (day + 1))
    equal(app.errors, 0, "handler errors")
    uptime = app._up_s
    want = (400 * 5 + DAYS * DAY_MS - step) // 1000  # the board's clock at its last pass
    check(want - 1 <= uptime <= want, "uptime %d s, want %d s" % (uptime, want))
    check(abs(pi.last_uptime - uptime) <= 31, "STATUS carries the uptime")
    equal(app.watchdog.cycles, 0, "no power cycle while the Pi beat")
    check_small_ints(app)
    # After a month the board still serves: the Pi stops its heartbeat and is power-cycled on time.
    drive_silent(board, app, 125000)
    equal(app.watchdog.cycles, 1, "one power cycle")
    check(120000 <= app.watchdog.last_silent_ms < 120010, "cycled after 120 s of silence, not %d ms"
          % app.watchdog.last_silent_ms)
    equal(board.relay.changes, 2, "relay energised, then released")


def drive_silent(board, app, ms):
    for _ in range(ms // 5):
        app.step()
        board.idle(5)


if __name__ == "__main__":
    run([test_no_allocation_across_the_wrap, test_no_allocation_around_half_period, test_thirty_days_of_ticks])
