"""The Pi watchdog: decides when the board must power-cycle the Pi because its heartbeat stopped, with
a boot grace period after every cycle and a minimum interval between two cycles. Pure logic on
milliseconds; the relay itself is driven by the caller."""

GRACE = 0     # not watching: the Pi is (re)booting
WATCHING = 1  # a heartbeat is expected within the timeout
HOLDOFF = 2   # heartbeat missing, but the last cycle is too recent to cycle again
PULSING = 3   # the relay is cutting the Pi's power
STATE_NAMES = ("grace", "watching", "holdoff", "pulsing")


class PiWatchdog:
    def __init__(self, timeout_ms, grace_ms, min_cycle_ms, pulse_ms, now):
        self.timeout_ms = timeout_ms
        self.grace_ms = grace_ms
        self.min_cycle_ms = min_cycle_ms
        self.pulse_ms = pulse_ms
        # The Pi boots together with the board, so the board starts in its grace period.
        self.state = GRACE
        self._until = now + grace_ms
        self.last_beat = now
        self.last_cycle = None
        self.cycles = 0
        self.last_pulse_info = None

    def heartbeat(self, now):
        """The Pi is alive. Ends a grace period or a hold-off early."""
        self.last_beat = now
        if self.state in (GRACE, HOLDOFF):
            self.state = WATCHING

    def update(self, now):
        """Advances the state; True when the relay must be pulsed now (for ``pulse_ms``)."""
        if self.state == PULSING:
            if now >= self._until:
                self.state = GRACE
                self._until = now + self.grace_ms
            return False
        if self.state == GRACE:
            if now >= self._until:
                self.state = WATCHING
                self.last_beat = now  # the timeout runs from the end of the grace period
            return False
        if now - self.last_beat < self.timeout_ms:
            return False
        if self.last_cycle is not None and now - self.last_cycle < self.min_cycle_ms:
            self.state = HOLDOFF
            return False
        since = None if self.last_cycle is None else now - self.last_cycle
        self.last_pulse_info = (now - self.last_beat, since)
        self.state = PULSING
        self._until = now + self.pulse_ms
        self.last_cycle = now
        self.cycles += 1
        return True
