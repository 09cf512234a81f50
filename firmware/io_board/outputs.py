"""The board's outputs driven by time: the three-colour status light with its patterns, the buzzer's
short patterns and the relay pulse. Each receives its pins and the board's clock (``ticks_diff``,
``ticks_add``: the millisecond ticks wrap) and is advanced by ``update(now)``."""

# Light colours and patterns (wire values of SET_LIGHT).
OFF = 0
GREEN = 1
YELLOW = 2
RED = 3
COLOR_NAMES = ("off", "green", "yellow", "red")

STEADY = 1
BLINK = 2
FAST_BLINK = 3
PATTERN_NAMES = ("off", "steady", "blink", "fast")
HALF_PERIOD_MS = {BLINK: 500, FAST_BLINK: 150}

# Buzzer patterns (wire values of BUZZ): alternating on/off durations in ms, starting with "on".
BUZZ_NAMES = ("off", "short", "double", "long", "alarm")
BUZZ_STEPS = (
    (),
    (100,),
    (100, 100, 100),
    (600,),
    (200, 200, 200, 200, 200, 200, 200, 200, 200),
)


class Light:
    """One colour lit at a time, steady or blinking. Raises ValueError for unknown values."""

    def __init__(self, green, yellow, red, clock):
        self._pins = (green, yellow, red)  # index = colour - 1
        self._clock = clock
        self.color = OFF
        self.pattern = OFF
        self._lit = False
        self._next = 0
        self._show(False)

    def set(self, color, pattern, now):
        if not 0 <= color < len(COLOR_NAMES) or not 0 <= pattern < len(PATTERN_NAMES):
            raise ValueError("bad light")
        if color == OFF or pattern == OFF:
            color, pattern = OFF, OFF
        self.color = color
        self.pattern = pattern
        self._show(pattern != OFF)
        self._next = self._clock.ticks_add(now, HALF_PERIOD_MS.get(pattern, 0))

    def update(self, now):
        half = HALF_PERIOD_MS.get(self.pattern, 0)
        if not half:
            return
        late = self._clock.ticks_diff(now, self._next)
        if late >= 0:
            self._show(not self._lit)
            # Stay on the original grid, but never try to catch up after a long stall.
            self._next = self._clock.ticks_add(self._next if late < half else now, half)

    def _show(self, lit):
        self._lit = lit
        for index in range(3):
            self._pins[index].value(1 if lit and index + 1 == self.color else 0)


class Buzzer:
    """Plays one short pattern at a time; a new one replaces the current one."""

    def __init__(self, pin, clock):
        self._pin = pin
        self._clock = clock
        self._steps = ()
        self._index = 0
        self._next = 0
        pin.value(0)

    def play(self, pattern, now):
        if not 0 <= pattern < len(BUZZ_STEPS):
            raise ValueError("bad buzz")
        self._steps = BUZZ_STEPS[pattern]
        self._index = 0
        if self._steps:
            self._pin.value(1)
            self._next = self._clock.ticks_add(now, self._steps[0])
        else:
            self._pin.value(0)

    @property
    def busy(self):
        return self._index < len(self._steps)

    def update(self, now):
        while self._index < len(self._steps) and self._clock.ticks_diff(now, self._next) >= 0:
            self._index += 1
            if self._index < len(self._steps):
                self._next = self._clock.ticks_add(self._next, self._steps[self._index])
                self._pin.value(0 if self._index % 2 else 1)
            else:
                self._pin.value(0)


class Relay:
    """The relay in the Pi's power feed: energised for ``ms`` to cut the power, then released."""

    def __init__(self, pin, clock):
        self._pin = pin
        self._clock = clock
        self.active = False
        self._until = 0
        pin.value(0)

    def pulse(self, now, ms):
        self._pin.value(1)
        self.active = True
        self._until = self._clock.ticks_add(now, ms)

    def update(self, now):
        """True on the call that released the relay."""
        if self.active and self._clock.ticks_diff(now, self._until) >= 0:
            self._pin.value(0)
            self.active = False
            return True
        return False
