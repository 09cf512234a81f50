"""Board support for the real RP2040 IO board: the only module that touches pins, the USB serial link,
the hardware watchdog and the clock. Imports are guarded so that this file loads anywhere (the unix
port has no machine.Pin); a simulator hands the App its own board object with the same attributes."""
import sys
import time

try:
    import machine
except ImportError:  # not on a microcontroller
    machine = None
try:
    import select
except ImportError:
    select = None
try:
    import micropython
except ImportError:
    micropython = None

# GPIO numbers on the carrier board.
PIN_LIGHT_GREEN = 2
PIN_LIGHT_YELLOW = 3
PIN_LIGHT_RED = 4
PIN_BUZZER = 5
PIN_RELAY = 6
PIN_TAMPER = 10    # switch closes to GND while the enclosure is shut: high = open
PIN_PRESENCE = 11  # PIR output, high = someone in front of the terminal
PIN_HELP = 12      # push button to GND: low = pressed


class UsbSerial:
    """The USB CDC port (the REPL's stdin/stdout) used as a binary link: Ctrl-C is disabled so that
    0x03 bytes inside frames do not interrupt the firmware."""

    def __init__(self):
        if micropython is not None and hasattr(micropython, "kbd_intr"):
            micropython.kbd_intr(-1)
        self._in = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        self._out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def any(self):
        return 1 if self._poll.poll(0) else 0

    def read(self, n):
        out = bytearray()
        while len(out) < n and self._poll.poll(0):
            out.extend(self._in.read(1))
        return bytes(out)

    def write(self, data):
        self._out.write(data)


class Board:
    """Pins as logical signals (1 = lit / sounding / energised / active), whatever their wiring."""

    def __init__(self):
        if machine is None or not hasattr(machine, "Pin"):
            raise RuntimeError("board.Board needs a microcontroller port of MicroPython")
        Pin, Signal = machine.Pin, machine.Signal
        self.light_green = Signal(Pin(PIN_LIGHT_GREEN, Pin.OUT))
        self.light_yellow = Signal(Pin(PIN_LIGHT_YELLOW, Pin.OUT))
        self.light_red = Signal(Pin(PIN_LIGHT_RED, Pin.OUT))
        self.buzzer = Signal(Pin(PIN_BUZZER, Pin.OUT))
        self.relay = Signal(Pin(PIN_RELAY, Pin.OUT))
        self.tamper = Signal(Pin(PIN_TAMPER, Pin.IN, Pin.PULL_UP))
        self.presence = Signal(Pin(PIN_PRESENCE, Pin.IN, Pin.PULL_DOWN))
        self.help_button = Signal(Pin(PIN_HELP, Pin.IN, Pin.PULL_UP), invert=True)
        self.uart = UsbSerial()
        self._wdt = None

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def idle(self, ms):
        time.sleep_ms(ms)

    def alive(self):
        return True

    def start_watchdog(self, timeout_ms):
        # Once started the RP2040 watchdog cannot be stopped: only the main loop's feed keeps us alive.
        self._wdt = machine.WDT(timeout=min(timeout_ms, 8388))

    def feed_watchdog(self):
        if self._wdt is not None:
            self._wdt.feed()

    def reset_cause(self):
        """0 power-on, 1 our own watchdog, 2 anything else (soft reset, reset pin)."""
        cause = machine.reset_cause()
        if cause == getattr(machine, "PWRON_RESET", -1):
            return 0
        if cause == getattr(machine, "WDT_RESET", -1):
            return 1
        return 2

    def trace(self, info):
        # The USB link carries frames only; diagnostics would corrupt it.
        pass
