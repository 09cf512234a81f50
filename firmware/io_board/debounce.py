"""Debouncing of the board's inputs (tamper switch, presence sensor, help button): a new level is
accepted only after it has been read unchanged for ``stable_ms``."""


class Debouncer:
    """Reads a logical input (1 = active) through ``read()`` and reports settled changes. Times are
    ticks of ``clock`` (the board support: ``ticks_diff``), which wrap."""

    def __init__(self, read, stable_ms, now, clock):
        self.read = read
        self.stable_ms = stable_ms
        self._clock = clock
        level = 1 if read() else 0
        self.state = level       # the accepted level
        self._candidate = level  # the level seen last, waiting to prove itself stable
        self._since = now

    def update(self, now):
        """Returns the new accepted level (0 or 1) when it changed on this call, else -1."""
        level = 1 if self.read() else 0
        if level != self._candidate:
            # Every bounce restarts the wait, so a chattering contact never gets through.
            self._candidate = level
            self._since = now
            return -1
        if level != self.state and self._clock.ticks_diff(now, self._since) >= self.stable_ms:
            self.state = level
            return level
        return -1
