"""The IO board firmware's main loop: serves the framed protocol to the Pi, debounces the inputs and
reports them as events, drives light, buzzer and relay, power-cycles the Pi when its heartbeat stops,
and takes firmware updates (updater.py). Everything touching hardware comes from the injected ``board``
(see board.py).

The loop runs every 5 ms for years, so it allocates nothing once started: frames are parsed and built
in fixed buffers, events wait in a fixed ring, and every time is a wrapping tick compared with
``ticks_diff`` (a millisecond counter kept as a plain int would leave the RP2040's small-int range after
12 days, and from then on every addition would allocate). Traces (the simulator's JSON lines) are built
only when the board support asks for them."""
import frames as fr
from debounce import Debouncer
from eventq import EventQueue
from outputs import BLINK, BUZZ_NAMES, COLOR_NAMES, FAST_BLINK, PATTERN_NAMES, RED, YELLOW, Buzzer, Light, Relay
from updater import Updater
from version import FIRMWARE_VERSION
from watchdog import STATE_NAMES, PiWatchdog

DEFAULTS = {
    "heartbeat_timeout_ms": 120000,  # Pi silent this long -> power-cycle it
    "boot_grace_ms": 300000,         # after a cycle (and at board start) the Pi gets this long to boot
    "min_cycle_ms": 900000,          # never two power cycles closer than this
    "relay_pulse_ms": 2000,
    "debounce_ms": 30,
    "board_heartbeat_ms": 2000,      # the board's own heartbeat to the Pi
    "event_retry_ms": 500,           # an unacknowledged event is sent again after this
    "frame_gap_ms": 100,             # a partial frame older than this is dropped
    "wdt_timeout_ms": 5000,          # the board's hardware watchdog (RP2040 allows up to 8388)
}
# CONFIG keys on the wire (docs/ioboard-protocol.md).
CONFIG_KEYS = {1: "heartbeat_timeout_ms", 2: "boot_grace_ms", 3: "min_cycle_ms", 4: "relay_pulse_ms",
               5: "debounce_ms", 6: "board_heartbeat_ms", 7: "event_retry_ms"}
# A setting must stay well inside half the tick period (2**29 ms on the RP2040) to be compared with
# ticks_diff; this is 2**28 - 1 ms, about 74.5 hours.
MAX_SETTING_MS = 0x0FFFFFFF

EV_TAMPER = 1
EV_PRESENCE = 2
EV_HELP = 3
EV_BOOT = 4
EVENT_QUEUE_LIMIT = 8
# Input name, then the names of its levels 0 and 1.
INPUT_NAMES = {EV_TAMPER: ("tamper", "closed", "open"), EV_PRESENCE: ("presence", "off", "on"),
               EV_HELP: ("help", "released", "pressed")}
LOOP_IDLE_MS = 5
REPEAT_WINDOW_MS = 2000  # the Pi repeats a command within 3 x 0.3 s
RX_CHUNK = 64
RX_CHUNKS_PER_STEP = 4   # bounds one pass of the loop even when the line floods
RESET_DELAY_MS = 200     # lets the reply that announced a restart leave the USB buffers first
COUNTER_MAX = 0x3FFF0000  # counters stop below the RP2040's small-int limit


class App:
    def __init__(self, board, guard=None, **config):
        for key in config:
            if key not in DEFAULTS:
                raise ValueError("unknown setting " + key)
        self.board = board
        self.tracing = board.tracing
        self.cfg = dict(DEFAULTS)
        self.cfg.update(config)
        cfg = self.cfg
        now = board.ticks_ms()
        self._up_s = 0
        self._up_mark = now
        self.parser = fr.Parser()
        self.tx = fr.Writer()
        self._rx = bytearray(RX_CHUNK)
        self.seq = 0
        self.session = False
        # The last command answered, kept to answer a repeat identically without acting twice.
        self._last_valid = False
        self._last_type = 0
        self._last_seq = 0
        self._last_at = now
        self._last_payload = bytearray(fr.MAX_PAYLOAD)
        self._last_plen = 0
        self._last_reply = bytearray(fr.MAX_FRAME)
        self._last_reply_len = 0
        self._last_byte = now
        self._next_heartbeat = now
        self.events = EventQueue(EVENT_QUEUE_LIMIT, now)
        self.errors = 0
        self._bad_reported = 0
        self._reset_due = False
        self._reset_at = now
        self.updater = Updater(board, guard)
        self.light = Light(board.light_green, board.light_yellow, board.light_red, board)
        self.buzzer = Buzzer(board.buzzer, board)
        self.relay = Relay(board.relay, board)
        self.inputs = (
            (EV_TAMPER, Debouncer(board.tamper.value, cfg["debounce_ms"], now, board)),
            (EV_PRESENCE, Debouncer(board.presence.value, cfg["debounce_ms"], now, board)),
            (EV_HELP, Debouncer(board.help_button.value, cfg["debounce_ms"], now, board)),
        )
        self.watchdog = PiWatchdog(cfg["heartbeat_timeout_ms"], cfg["boot_grace_ms"], cfg["min_cycle_ms"],
                                   cfg["relay_pulse_ms"], now, board)
        self._wd_state = self.watchdog.state
        self.events.push(EV_BOOT, board.reset_cause())
        self._set_light(YELLOW, BLINK, now)  # "waiting for the Pi" until it sets the light itself
        if self.tracing:
            board.trace({"watchdog": STATE_NAMES[self._wd_state]})
            board.trace({"firmware": "%d.%d.%d" % FIRMWARE_VERSION})  # started
        board.start_watchdog(cfg["wdt_timeout_ms"])

    # ---- main loop -------------------------------------------------------------------------

    def run(self):
        while self.board.alive():
            self.step()
            self.board.idle(LOOP_IDLE_MS)

    def step(self):
        """One pass of the loop. Never raises for anything that came over the wire."""
        board = self.board
        now = board.ticks_ms()
        board.feed_watchdog()
        self._count_uptime(now)
        self._receive(now)
        self._read_inputs(now)
        # The relay is released before the watchdog leaves PULSING, so reports read "off" then "grace".
        if self.relay.update(now) and self.tracing:
            board.trace({"relay": "off"})
        self._run_pi_watchdog(now)
        self.light.update(now)
        self.buzzer.update(now)
        self._send_events(now)
        if self.session and board.ticks_diff(now, self._next_heartbeat) >= 0:
            self._next_heartbeat = board.ticks_add(now, self.cfg["board_heartbeat_ms"])
            self.tx.begin(fr.HEARTBEAT, self._next_seq())
            self._put_status()
            self._send()
        if self._last_valid and board.ticks_diff(now, self._last_at) >= REPEAT_WINDOW_MS:
            self._last_valid = False  # forgotten before its tick could wrap round to look recent
        if self._reset_due and board.ticks_diff(now, self._reset_at) >= 0:
            self._reset_due = False
            board.reset()

    def _count_uptime(self, now):
        elapsed = self.board.ticks_diff(now, self._up_mark)
        if elapsed >= 1000:
            seconds = elapsed // 1000
            self._up_s += seconds
            self._up_mark = self.board.ticks_add(self._up_mark, seconds * 1000)

    # ---- receiving -------------------------------------------------------------------------

    def _receive(self, now):
        uart = self.board.uart
        parser = self.parser
        got = False
        for _ in range(RX_CHUNKS_PER_STEP):
            if not uart.any():
                break
            count = uart.readinto(self._rx)
            if not count:
                break
            got = True
            parser.push(self._rx, count)
            while parser.next(False):
                self._dispatch(now)
        if got:
            self._last_byte = now
        elif parser.pending() and self.board.ticks_diff(now, self._last_byte) >= self.cfg["frame_gap_ms"]:
            while parser.next(True):
                self._dispatch(now)
        if parser.bad != self._bad_reported:
            self._bad_reported = parser.bad
            if self.tracing:
                self.board.trace({"bad_frames": parser.bad})

    def _dispatch(self, now):
        try:
            self._handle(now)
        except Exception as exc:  # a frame must never stop the loop; count it and go on
            if self.errors < COUNTER_MAX:
                self.errors += 1
            if self.tracing:
                self.board.trace({"error": repr(exc)})

    def _handle(self, now):
        parser = self.parser
        ftype = parser.ftype
        seq = parser.seq
        payload = parser.payload
        plen = parser.plen
        if ftype == fr.HEARTBEAT:
            self.watchdog.heartbeat(now)
            return
        if ftype == fr.HELLO:
            self._hello(seq, payload, plen, now)
            return
        if ftype == fr.ACK:
            if plen:
                self.events.acknowledged(payload[0])
            return
        if ftype == fr.NAK:
            return
        if not self.session:
            self._nak(seq, fr.NAK_NO_SESSION)
            self._send()
            return
        if self._is_repeat(ftype, seq, payload, plen, now):
            self._last_at = now
            self.board.uart.write(self._last_reply, self._last_reply_len)  # our reply was lost: again
            return
        self._command(ftype, seq, payload, plen, now)
        self._remember(ftype, seq, payload, plen, now)
        self._send()

    def _is_repeat(self, ftype, seq, payload, plen, now):
        """The same frame again soon after; the window keeps a new command whose seq has merely
        wrapped round to the same value from being mistaken for one."""
        if not self._last_valid or self._last_seq != seq or self._last_type != ftype or self._last_plen != plen:
            return False
        if self.board.ticks_diff(now, self._last_at) >= REPEAT_WINDOW_MS:
            return False
        last = self._last_payload
        for i in range(plen):
            if last[i] != payload[i]:
                return False
        return True

    def _remember(self, ftype, seq, payload, plen, now):
        self._last_valid = True
        self._last_type = ftype
        self._last_seq = seq
        self._last_at = now
        self._last_plen = plen
        last = self._last_payload
        for i in range(plen):
            last[i] = payload[i]
        tx = self.tx
        reply = self._last_reply
        for i in range(tx.n):
            reply[i] = tx.buf[i]
        self._last_reply_len = tx.n

    def _hello(self, seq, payload, plen, now):
        if plen < 1 or payload[0] != fr.PROTOCOL_VERSION:
            self._nak(seq, fr.NAK_BAD_VERSION)
            self._send()
            return
        self.session = True
        self._last_valid = False
        self.events.sent = False  # a new host has not seen the event in flight: send it again now
        self._next_heartbeat = self.board.ticks_add(now, self.cfg["board_heartbeat_ms"])
        tx = self.tx
        tx.begin(fr.WELCOME, self._next_seq())
        tx.byte(fr.PROTOCOL_VERSION)
        tx.byte(seq)
        tx.byte(FIRMWARE_VERSION[0])
        tx.byte(FIRMWARE_VERSION[1])
        tx.byte(FIRMWARE_VERSION[2])
        self._put_status()
        self._send()

    def _command(self, ftype, seq, payload, plen, now):
        """Acts on one command and leaves its ACK or NAK in ``tx``."""
        if ftype == fr.SET_LIGHT:
            if plen != 2 or payload[0] >= len(COLOR_NAMES) or payload[1] >= len(PATTERN_NAMES):
                self._nak(seq, fr.NAK_BAD_PAYLOAD)
                return
            self._set_light(payload[0], payload[1], now)
            self._ack(seq)
        elif ftype == fr.BUZZ:
            if plen != 1 or payload[0] >= len(BUZZ_NAMES):
                self._nak(seq, fr.NAK_BAD_PAYLOAD)
                return
            self.buzzer.play(payload[0], now)
            if self.tracing:
                self.board.trace({"buzzer": BUZZ_NAMES[payload[0]]})
            self._ack(seq)
        elif ftype == fr.CONFIG:
            if not self._configure(payload, plen):
                self._nak(seq, fr.NAK_BAD_PAYLOAD)
                return
            self._ack(seq)
        elif ftype == fr.GET_STATUS:
            self._ack(seq)
            self._put_status()
        elif fr.FW_BEGIN <= ftype <= fr.FW_ROLLBACK and self.updater.available():
            self._update_command(ftype, seq, payload, plen, now)
        else:
            self._nak(seq, fr.NAK_UNKNOWN_TYPE)
        self.tx.finish()

    def _update_command(self, ftype, seq, payload, plen, now):
        # Updates are rare and work with files: unlike the rest of the loop, they may allocate.
        updater = self.updater
        reason = updater.command(ftype, payload, plen)
        if reason:
            self._nak(seq, reason)
            return
        self._ack(seq)
        updater.reply(ftype, self.tx)
        if updater.restart_requested:
            updater.restart_requested = False
            self._reset_due = True
            self._reset_at = self.board.ticks_add(now, RESET_DELAY_MS)

    def _configure(self, payload, plen):
        """All or nothing: an unknown key or a value over MAX_SETTING_MS rejects the whole frame. The
        value is checked byte by byte before it is built, so that no large int is ever made."""
        if not plen or plen % 5:
            return False
        for i in range(0, plen, 5):
            if payload[i] not in CONFIG_KEYS or payload[i + 1] or payload[i + 2] > 0x0F:
                return False
        cfg = self.cfg
        for i in range(0, plen, 5):
            cfg[CONFIG_KEYS[payload[i]]] = (payload[i + 2] << 16) | (payload[i + 3] << 8) | payload[i + 4]
        self._apply_config()
        if self.tracing:
            self._trace_config(payload, plen)
        return True

    def _trace_config(self, payload, plen):
        # Apart from _configure: a closure there would give it a cell to allocate on every call.
        cfg = self.cfg
        names = [CONFIG_KEYS[payload[i]] for i in range(0, plen, 5)]
        self.board.trace({"config": dict((name, cfg[name]) for name in names)})

    def _apply_config(self):
        cfg, wd = self.cfg, self.watchdog
        wd.timeout_ms = cfg["heartbeat_timeout_ms"]
        wd.grace_ms = cfg["boot_grace_ms"]
        wd.min_cycle_ms = cfg["min_cycle_ms"]
        wd.pulse_ms = cfg["relay_pulse_ms"]
        for _, debouncer in self.inputs:
            debouncer.stable_ms = cfg["debounce_ms"]

    # ---- inputs, watchdog, events ----------------------------------------------------------

    def _read_inputs(self, now):
        for kind, debouncer in self.inputs:
            level = debouncer.update(now)
            if level < 0:
                continue
            if self.tracing:
                names = INPUT_NAMES[kind]
                self.board.trace({"input": names[0], "value": names[1 + level]})
            if kind == EV_HELP and not level:
                continue  # only the press is an event
            self.events.push(kind, level)

    def _run_pi_watchdog(self, now):
        wd = self.watchdog
        if wd.update(now):
            self.relay.pulse(now, wd.pulse_ms)
            self._set_light(RED, FAST_BLINK, now)
            if self.tracing:
                since = wd.last_since_ms if wd.last_since_ms >= 0 else None
                self.board.trace({"relay": "pulse", "ms": wd.pulse_ms, "silent_ms": wd.last_silent_ms,
                                  "since_last_cycle_ms": since, "cycle": wd.cycles})
        if wd.state != self._wd_state:
            self._wd_state = wd.state
            if self.tracing:
                self.board.trace({"watchdog": STATE_NAMES[wd.state]})

    def _send_events(self, now):
        events = self.events
        if not self.session or not events.due(now, self.board, self.cfg["event_retry_ms"]):
            return
        if events.seq < 0:
            events.seq = self._next_seq()
        tx = self.tx
        tx.begin(fr.EVENT, events.seq)  # a repeat keeps its seq
        tx.byte(events.kinds[events.head])
        tx.byte(events.values[events.head])
        self._send()
        events.mark_sent(now)

    # ---- outputs and frames ----------------------------------------------------------------

    def _set_light(self, color, pattern, now):
        self.light.set(color, pattern, now)
        if self.tracing:
            self.board.trace({"light": COLOR_NAMES[self.light.color], "pattern": PATTERN_NAMES[self.light.pattern]})

    def _put_status(self):
        """Appends the 12-byte STATUS block to the frame being built."""
        tx = self.tx
        flags = 0
        inputs = self.inputs
        for bit in range(len(inputs)):
            if inputs[bit][1].state:
                flags |= 1 << bit
        tx.byte(flags)
        tx.byte(self.light.color)
        tx.byte(self.light.pattern)
        tx.byte(self.watchdog.state)
        tx.u16(min(self.parser.bad, 0xFFFF))
        tx.u16(min(self.watchdog.cycles, 0xFFFF))
        tx.u32(self._up_s)

    def _next_seq(self):
        seq = self.seq
        self.seq = (seq + 1) & 0xFF
        return seq

    def _ack(self, ref):
        """Starts an ACK in ``tx``; reply data may follow."""
        self.tx.begin(fr.ACK, self._next_seq())
        self.tx.byte(ref)

    def _nak(self, ref, reason):
        tx = self.tx
        tx.begin(fr.NAK, self._next_seq())
        tx.byte(ref)
        tx.byte(reason)

    def _send(self):
        """Finishes the frame in ``tx`` (if not yet done) and writes it."""
        tx = self.tx
        self.board.uart.write(tx.buf, tx.finish())
