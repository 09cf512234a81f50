"""A board-support stand-in for firmware tests: pins that remember their level, a UART with an inbox
and an outbox, a watchdog that counts feeds, a reset that raises, and a clock that only moves when the
test says so and wraps like the RP2040's: ticks_ms() counts modulo 2**30 (the port's small-int range),
ticks_diff and ticks_add follow MicroPython's definitions for that period.

Everything a test drives in a loop (pins, the UART's buffers, the clock) works without allocating,
so that a soak test can measure the firmware's own allocations."""

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD >> 1


class BoardReset(BaseException):
    """The firmware called board.reset(): on the board nothing after it runs."""


class PowerCut(BaseException):
    """A checkpoint the test armed: the power went at that point."""


class FakePin:
    def __init__(self, level=0, record=True):
        self.level = level
        self.record = record
        self.history = [level]
        self.changes = 0

    def value(self, level=None):
        if level is None:
            return self.level
        if level != self.level:
            self.changes += 1
            if self.record:
                self.history.append(level)
        self.level = level


class FakeUart:
    """Bytes the test puts in are read by the firmware; what the firmware writes goes to ``outbox`` or,
    when ``sink`` is set, to ``sink(buf, count)``."""

    def __init__(self, capacity=4096):
        self._ring = bytearray(capacity)
        self._head = 0
        self._count = 0
        self.outbox = bytearray()
        self.sink = None
        self.written = 0

    def put(self, data, start=0, count=-1):
        """Queues ``data[start:start + count]`` (all from ``start`` when -1); raises if full."""
        if count < 0:
            count = len(data) - start
        size = len(self._ring)
        if self._count + count > size:
            raise OverflowError("fake uart inbox full")
        ring = self._ring
        at = (self._head + self._count) % size
        for i in range(start, start + count):
            ring[at] = data[i]
            at += 1
            if at == size:
                at = 0
        self._count += count

    def any(self):
        return self._count

    def readinto(self, buf):
        count = min(len(buf), self._count)
        ring, size, head = self._ring, len(self._ring), self._head
        for i in range(count):
            buf[i] = ring[head]
            head += 1
            if head == size:
                head = 0
        self._head = head
        self._count -= count
        return count

    def write(self, buf, count):
        self.written += count
        if self.sink is not None:
            self.sink(buf, count)
        else:
            self.outbox.extend(buf[:count])

    def take(self):
        data = bytes(self.outbox)
        self.outbox = bytearray()
        return data


class FakeBoard:
    def __init__(self, start=1000000, root="", record=True, tracing=True):
        self.light_green = FakePin(record=record)
        self.light_yellow = FakePin(record=record)
        self.light_red = FakePin(record=record)
        self.buzzer = FakePin(record=record)
        self.relay = FakePin(record=record)
        self.tamper = FakePin(record=record)
        self.presence = FakePin(record=record)
        self.help_button = FakePin(record=record)
        self.uart = FakeUart()
        self.clock = start & TICKS_MAX  # arbitrary start: the firmware must only use differences
        self.root = root
        self.tracing = tracing
        self.wdt_timeout = None
        self.feeds = 0
        self.resets = 0
        self.traces = []
        self.checkpoints = {}
        self.cut_at = None  # [checkpoint name, hits to go] -> PowerCut

    def ticks_ms(self):
        return self.clock

    def ticks_add(self, ticks, delta):
        return (ticks + delta) & TICKS_MAX

    def ticks_diff(self, end, start):
        return ((end - start + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def idle(self, ms):
        self.clock = (self.clock + ms) & TICKS_MAX

    def alive(self):
        return True

    def start_watchdog(self, timeout_ms):
        self.wdt_timeout = timeout_ms

    def feed_watchdog(self):
        self.feeds += 1

    def reset_cause(self):
        return 0

    def reset(self):
        self.resets += 1
        raise BoardReset()

    def checkpoint(self, name):
        self.checkpoints[name] = self.checkpoints.get(name, 0) + 1
        cut = self.cut_at
        if cut is not None and cut[0] == name:
            cut[1] -= 1
            if cut[1] <= 0:
                self.cut_at = None
                raise PowerCut(name)

    def trace(self, info):
        self.traces.append(info)

    def traced(self, key):
        return [t for t in self.traces if key in t]
