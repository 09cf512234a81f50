"""A board-support stand-in for firmware tests: pins that remember their level, a UART with an inbox
and an outbox, a watchdog that counts feeds and a clock that only moves when the test says so."""


class FakePin:
    def __init__(self, level=0):
        self.level = level
        self.history = [level]

    def value(self, level=None):
        if level is None:
            return self.level
        if level != self.level:
            self.history.append(level)
        self.level = level


class FakeUart:
    def __init__(self):
        self.inbox = bytearray()
        self.outbox = bytearray()

    def any(self):
        return len(self.inbox)

    def read(self, n):
        data = bytes(self.inbox[:n])
        self.inbox = self.inbox[n:]
        return data

    def write(self, data):
        self.outbox.extend(data)

    def take(self):
        data = bytes(self.outbox)
        self.outbox = bytearray()
        return data


class FakeBoard:
    def __init__(self):
        self.light_green = FakePin()
        self.light_yellow = FakePin()
        self.light_red = FakePin()
        self.buzzer = FakePin()
        self.relay = FakePin()
        self.tamper = FakePin()
        self.presence = FakePin()
        self.help_button = FakePin()
        self.uart = FakeUart()
        self.clock = 1000000  # arbitrary start: the firmware must only use differences
        self.wdt_timeout = None
        self.feeds = 0
        self.traces = []

    def ticks_ms(self):
        return self.clock

    def ticks_diff(self, a, b):
        return a - b

    def idle(self, ms):
        self.clock += ms

    def alive(self):
        return True

    def start_watchdog(self, timeout_ms):
        self.wdt_timeout = timeout_ms

    def feed_watchdog(self):
        self.feeds += 1

    def reset_cause(self):
        return 0

    def trace(self, info):
        self.traces.append(info)

    def traced(self, key):
        return [t for t in self.traces if key in t]
