"""The IO board firmware's main loop: serves the framed protocol to the Pi, debounces the inputs and
reports them as events, drives light, buzzer and relay, and power-cycles the Pi when its heartbeat
stops. Everything touching hardware comes from the injected ``board`` (see board.py)."""
import frames as fr
from debounce import Debouncer
from outputs import Light, Buzzer, Relay, COLOR_NAMES, PATTERN_NAMES, BUZZ_NAMES, YELLOW, RED, BLINK, FAST_BLINK
from watchdog import PiWatchdog, STATE_NAMES

FIRMWARE_VERSION = (1, 0, 0)

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


class App:
    def __init__(self, board, **config):
        for key in config:
            if key not in DEFAULTS:
                raise ValueError("unknown setting " + key)
        self.board = board
        self.cfg = dict(DEFAULTS)
        self.cfg.update(config)
        self._ticks = board.ticks_ms()
        self.now = 0  # ms since start, never wraps (ticks_ms does)
        self.parser = fr.Parser()
        self.seq = 0
        self.session = False
        self._last_cmd = None     # [seq, type, payload, ms, reply frame] to answer a repeat identically
        self._last_byte = 0
        self._next_heartbeat = 0
        self.events = []          # [seq or None, kind, value]; head is the one in flight
        self._event_sent = None
        self.events_dropped = 0
        self.errors = 0
        self._bad_reported = 0
        cfg = self.cfg
        self.light = Light(board.light_green, board.light_yellow, board.light_red)
        self.buzzer = Buzzer(board.buzzer)
        self.relay = Relay(board.relay)
        self.inputs = (
            (EV_TAMPER, Debouncer(board.tamper.value, cfg["debounce_ms"], 0)),
            (EV_PRESENCE, Debouncer(board.presence.value, cfg["debounce_ms"], 0)),
            (EV_HELP, Debouncer(board.help_button.value, cfg["debounce_ms"], 0)),
        )
        self.watchdog = PiWatchdog(cfg["heartbeat_timeout_ms"], cfg["boot_grace_ms"], cfg["min_cycle_ms"],
                                   cfg["relay_pulse_ms"], 0)
        self._wd_state = self.watchdog.state
        self._queue_event(EV_BOOT, board.reset_cause())
        self._set_light(YELLOW, BLINK)  # "waiting for the Pi" until it sets the light itself
        board.trace({"watchdog": STATE_NAMES[self._wd_state]})
        board.start_watchdog(cfg["wdt_timeout_ms"])

    # ---- main loop -------------------------------------------------------------------------

    def run(self):
        while self.board.alive():
            self.step()
            self.board.idle(LOOP_IDLE_MS)

    def step(self):
        """One pass of the loop. Never raises for anything that came over the wire."""
        ticks = self.board.ticks_ms()
        self.now += max(0, self.board.ticks_diff(ticks, self._ticks))
        self._ticks = ticks
        now = self.now
        self.board.feed_watchdog()
        self._receive(now)
        self._read_inputs(now)
        # The relay is released before the watchdog leaves PULSING, so reports read "off" then "grace".
        if self.relay.update(now):
            self.board.trace({"relay": "off"})
        self._run_pi_watchdog(now)
        self.light.update(now)
        self.buzzer.update(now)
        self._send_events(now)
        if self.session and now >= self._next_heartbeat:
            self._next_heartbeat = now + self.cfg["board_heartbeat_ms"]
            self._send(fr.HEARTBEAT, self.status_bytes())

    # ---- receiving -------------------------------------------------------------------------

    def _receive(self, now):
        uart = self.board.uart
        found = ()
        waiting = uart.any()
        if waiting:
            data = uart.read(waiting)
            if data:
                self._last_byte = now
                found = self.parser.feed(data)
        elif self.parser.pending() and now - self._last_byte >= self.cfg["frame_gap_ms"]:
            found = self.parser.expire()
        for ftype, seq, payload in found:
            try:
                self._handle(ftype, seq, payload, now)
            except Exception as exc:  # a frame must never stop the loop; count it and go on
                self.errors += 1
                self.board.trace({"error": repr(exc)})
        if self.parser.bad != self._bad_reported:
            self._bad_reported = self.parser.bad
            self.board.trace({"bad_frames": self.parser.bad})

    def _handle(self, ftype, seq, payload, now):
        if ftype == fr.HEARTBEAT:
            self.watchdog.heartbeat(now)
            return
        if ftype == fr.HELLO:
            self._hello(seq, payload)
            return
        if ftype == fr.ACK:
            if payload and self.events and self.events[0][0] == payload[0]:
                self.events.pop(0)
                self._event_sent = None
            return
        if ftype == fr.NAK:
            return
        if not self.session:
            self._send(fr.NAK, bytes((seq, fr.NAK_NO_SESSION)))
            return
        last = self._last_cmd
        # A repeat is the same frame again soon after; the window keeps a new command whose seq has
        # merely wrapped round to the same value from being mistaken for one.
        if last is not None and last[0] == seq and last[1] == ftype and last[2] == payload \
                and now - last[3] < REPEAT_WINDOW_MS:
            last[3] = now
            self._write(last[4])  # our reply was lost: answer again, do not act twice
            return
        reply = self._command(ftype, seq, payload, now)
        self._last_cmd = [seq, ftype, payload, now, reply]
        self._write(reply)

    def _hello(self, seq, payload):
        if len(payload) < 1 or payload[0] != fr.PROTOCOL_VERSION:
            self._send(fr.NAK, bytes((seq, fr.NAK_BAD_VERSION)))
            return
        self.session = True
        self._last_cmd = None
        self._event_sent = None  # a new host has not seen the event in flight: send it again now
        self._next_heartbeat = self.now + self.cfg["board_heartbeat_ms"]
        body = bytes((fr.PROTOCOL_VERSION, seq)) + bytes(FIRMWARE_VERSION) + self.status_bytes()
        self._send(fr.WELCOME, body)

    def _command(self, ftype, seq, payload, now):
        """Acts on one command and returns the encoded ACK or NAK."""
        if ftype == fr.SET_LIGHT:
            if len(payload) != 2 or payload[0] >= len(COLOR_NAMES) or payload[1] >= len(PATTERN_NAMES):
                return self._frame(fr.NAK, bytes((seq, fr.NAK_BAD_PAYLOAD)))
            self._set_light(payload[0], payload[1])
        elif ftype == fr.BUZZ:
            if len(payload) != 1 or payload[0] >= len(BUZZ_NAMES):
                return self._frame(fr.NAK, bytes((seq, fr.NAK_BAD_PAYLOAD)))
            self.buzzer.play(payload[0], now)
            self.board.trace({"buzzer": BUZZ_NAMES[payload[0]]})
        elif ftype == fr.CONFIG:
            if not self._configure(payload):
                return self._frame(fr.NAK, bytes((seq, fr.NAK_BAD_PAYLOAD)))
        elif ftype == fr.GET_STATUS:
            return self._frame(fr.ACK, bytes((seq,)) + self.status_bytes())
        else:
            return self._frame(fr.NAK, bytes((seq, fr.NAK_UNKNOWN_TYPE)))
        return self._frame(fr.ACK, bytes((seq,)))

    def _configure(self, payload):
        if not payload or len(payload) % 5:
            return False
        pairs = []
        for i in range(0, len(payload), 5):
            name = CONFIG_KEYS.get(payload[i])
            if name is None:
                return False  # all or nothing: an unknown key rejects the whole frame
            value = (payload[i + 1] << 24) | (payload[i + 2] << 16) | (payload[i + 3] << 8) | payload[i + 4]
            pairs.append((name, value))
        self.apply_config(pairs)
        return True

    def apply_config(self, pairs):
        for name, value in pairs:
            self.cfg[name] = value
        cfg, wd = self.cfg, self.watchdog
        wd.timeout_ms = cfg["heartbeat_timeout_ms"]
        wd.grace_ms = cfg["boot_grace_ms"]
        wd.min_cycle_ms = cfg["min_cycle_ms"]
        wd.pulse_ms = cfg["relay_pulse_ms"]
        for _, debouncer in self.inputs:
            debouncer.stable_ms = cfg["debounce_ms"]
        self.board.trace({"config": dict(pairs)})

    # ---- inputs, watchdog, events ----------------------------------------------------------

    def _read_inputs(self, now):
        for kind, debouncer in self.inputs:
            level = debouncer.update(now)
            if level is None:
                continue
            names = INPUT_NAMES[kind]
            self.board.trace({"input": names[0], "value": names[1 + level]})
            if kind == EV_HELP and not level:
                continue  # only the press is an event
            self._queue_event(kind, level)

    def _run_pi_watchdog(self, now):
        wd = self.watchdog
        if wd.update(now):
            self.relay.pulse(now, wd.pulse_ms)
            self._set_light(RED, FAST_BLINK)
            silent, since = wd.last_pulse_info
            self.board.trace({"relay": "pulse", "ms": wd.pulse_ms, "silent_ms": silent,
                              "since_last_cycle_ms": since, "cycle": wd.cycles})
        if wd.state != self._wd_state:
            self._wd_state = wd.state
            self.board.trace({"watchdog": STATE_NAMES[wd.state]})

    def _queue_event(self, kind, value):
        if len(self.events) >= EVENT_QUEUE_LIMIT:
            # Keep the one in flight (its seq may be acked any moment); lose the oldest waiting one.
            self.events.pop(1)
            self.events_dropped += 1
        self.events.append([None, kind, value])

    def _send_events(self, now):
        if not self.session or not self.events:
            return
        if self._event_sent is not None and now - self._event_sent < self.cfg["event_retry_ms"]:
            return
        head = self.events[0]
        if head[0] is None:
            head[0] = self._next_seq()
        self._write(self._frame(fr.EVENT, bytes((head[1], head[2])), head[0]))
        self._event_sent = now

    # ---- outputs and frames ----------------------------------------------------------------

    def _set_light(self, color, pattern):
        self.light.set(color, pattern, self.now)
        self.board.trace({"light": COLOR_NAMES[self.light.color], "pattern": PATTERN_NAMES[self.light.pattern]})

    def status_bytes(self):
        flags = 0
        for bit, (_, debouncer) in enumerate(self.inputs):
            if debouncer.state:
                flags |= 1 << bit
        bad = min(self.parser.bad, 0xFFFF)
        cycles = min(self.watchdog.cycles, 0xFFFF)
        up = (self.now // 1000) & 0xFFFFFFFF
        return bytes((flags, self.light.color, self.light.pattern, self.watchdog.state,
                      bad >> 8, bad & 0xFF, cycles >> 8, cycles & 0xFF,
                      up >> 24, (up >> 16) & 0xFF, (up >> 8) & 0xFF, up & 0xFF))

    def _next_seq(self):
        seq = self.seq
        self.seq = (seq + 1) & 0xFF
        return seq

    def _frame(self, ftype, payload, seq=None):
        return fr.encode(ftype, self._next_seq() if seq is None else seq, payload)

    def _send(self, ftype, payload):
        self._write(self._frame(ftype, payload))

    def _write(self, frame):
        self.board.uart.write(frame)
