"""The Pi watchdog: decides when the board must power-cycle the Pi because its heartbeat stopped, with
a boot grace period after every cycle and a minimum interval between two cycles. Pure logic on the
board's wrapping millisecond ticks (``clock.ticks_diff``); the relay itself is driven by the caller."""

GRACE = 0     # not watching: the Pi is (re)booting
WATCHING = 1  # a heartbeat is expected within the timeout
HOLDOFF = 2   # heartbeat missing, but the last cycle is too recent to cycle again
PULSING = 3   # the relay is cutting the Pi's power
STATE_NAMES = ("grace", "watching", "holdoff", "pulsing")
# The last cycle is forgotten this long after it: a tick difference is only meaningful within half the
# tick period (2**29 ms on the RP2040), and every setting is below this (docs/ioboard-protocol.md).
KNOWN_MS = 1 << 28


class PiWatchdog:
    def __init__(self, timeout_ms, grace_ms, min_cycle_ms, pulse_ms, now, clock):
        self.timeout_ms = timeout_ms
        self.grace_ms = grace_ms
        self.min_cycle_ms = min_cycle_ms
        self.pulse_ms = pulse_ms
        self._clock = clock
        # The Pi boots together with the board, so the board starts in its grace period.
        self.state = GRACE
        self._since = now  # start of the grace period or of the pulse
        self.last_beat = now
        self.last_cycle = now
        self.cycle_known = False  # a cycle happened less than KNOWN_MS ago
        self.cycles = 0
        self.last_silent_ms = 0   # of the last pulse: how long the Pi had been silent
        self.last_since_ms = -1   # of the last pulse: time since the cycle before it (-1: none recent)

    def heartbeat(self, now):
        """The Pi is alive. Ends a grace period or a hold-off early."""
        self.last_beat = now
        if self.state == GRACE or self.state == HOLDOFF:
            self.state = WATCHING

    def update(self, now):
        """Advances the state; True when the relay must be pulsed now (for ``pulse_ms``)."""
        clock = self._clock  # called through the object: a bound method taken out would be allocated
        since = clock.ticks_diff(now, self.last_cycle) if self.cycle_known else -1
        if since >= KNOWN_MS:
            self.cycle_known = False
            since = -1
        if self.state == PULSING:
            if clock.ticks_diff(now, self._since) >= self.pulse_ms:
                self.state = GRACE
                self._since = now
            return False
        if self.state == GRACE:
            if clock.ticks_diff(now, self._since) >= self.grace_ms:
                self.state = WATCHING
                self.last_beat = now  # the timeout runs from the end of the grace period
            return False
        silent = clock.ticks_diff(now, self.last_beat)
        if silent < self.timeout_ms:
            return False
        if 0 <= since < self.min_cycle_ms:
            self.state = HOLDOFF  # the silence stays measurable: timeout + min_cycle < KNOWN_MS * 2
            return False
        self.last_silent_ms = silent
        self.last_since_ms = since
        self.state = PULSING
        self._since = now
        self.last_cycle = now
        self.cycle_known = True
        self.cycles += 1
        return True
