"""Board support for the real RP2040 IO board: the only module that touches pins, the USB serial link,
the hardware watchdog, the clock and the reset. Imports are guarded so that this file loads anywhere
(the unix port has no machine.Pin); a simulator hands the firmware its own board object with the same
attributes:

    light_green light_yellow light_red buzzer relay tamper presence help_button   .value([level])
    uart            .any(), .readinto(buf) -> count (never blocks), .write(buf, count)
    ticks_ms() ticks_add(t, ms) ticks_diff(a, b)   wrapping milliseconds, as in MicroPython's time
    idle(ms) alive() start_watchdog(ms) feed_watchdog() reset_cause() reset()
    root            folder of the firmware files, ending in "/"
    tracing, trace(info)   diagnostics (JSON-like dicts) only when tracing is true
    checkpoint(name)       a point where a simulator may cut the power (no-op here)
"""
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
    0x03 bytes inside frames do not interrupt the firmware. Reads byte by byte into the caller's
    buffer, only while the poll says a byte is waiting, so that nothing blocks or allocates."""

    def __init__(self, stdin, stdout, poller):
        if micropython is not None:
            micropython.kbd_intr(-1)
        self._in = stdin
        self._out = stdout
        self._poll = poller
        self._one = bytearray(1)

    def any(self):
        for _ in self._poll.ipoll(0):
            return 1
        return 0

    def readinto(self, buf):
        count = 0
        size = len(buf)
        while count < size and self.any():
            if not self._in.readinto(self._one):
                break
            buf[count] = self._one[0]
            count += 1
        return count

    def write(self, buf, count):
        self._out.write(buf, 0, count)


def usb_serial():
    if select is None:
        raise RuntimeError("no select module")
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    return UsbSerial(sys.stdin.buffer, sys.stdout.buffer, poller)


class Board:
    """Pins as logical signals (1 = lit / sounding / energised / active), whatever their wiring."""

    root = "/"
    tracing = False

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
        self.uart = usb_serial()
        self._wdt = None
        self._machine = machine

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_add(self, ticks, delta):
        return time.ticks_add(ticks, delta)

    def ticks_diff(self, end, start):
        return time.ticks_diff(end, start)

    def idle(self, ms):
        time.sleep_ms(ms)

    def alive(self):
        return True

    def start_watchdog(self, timeout_ms):
        # Once started the RP2040 watchdog cannot be stopped: only the main loop's feed keeps us alive.
        self._wdt = self._machine.WDT(timeout=min(timeout_ms, 8388))

    def feed_watchdog(self):
        if self._wdt is not None:
            self._wdt.feed()

    def reset_cause(self):
        """0 power-on, 1 our own watchdog, 2 anything else (soft reset, reset pin)."""
        cause = self._machine.reset_cause()
        if cause == self._machine.PWRON_RESET:
            return 0
        if cause == self._machine.WDT_RESET:
            return 1
        return 2

    def reset(self):
        self._machine.reset()

    def trace(self, info):
        # The USB link carries frames only; diagnostics would corrupt it.
        pass

    def checkpoint(self, name):
        pass
