"""Simulated board support for the IO board firmware, for both the MicroPython unix port and CPython:
the UART is a pseudo-terminal opened by path, the pins are levels set by commands on stdin, and every
light, buzzer and relay change is printed as a JSON line on stdout."""
import json
import select
import sys

try:
    import os
except ImportError:
    os = None
try:
    import termios
except ImportError:
    termios = None
try:
    from time import ticks_diff, ticks_ms  # MicroPython
except ImportError:  # CPython: the same contract from the monotonic clock (never wraps here)
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

INPUT_PINS = ("tamper", "presence", "help_button")


def _setraw(fd):
    # MicroPython's termios has setraw; CPython keeps it in the tty module.
    if termios is not None and hasattr(termios, "setraw"):
        termios.setraw(fd)
    else:
        import tty
        tty.setraw(fd)


class SimPin:
    def __init__(self, level=0):
        self.level = level

    def value(self, level=None):
        if level is None:
            return self.level
        self.level = 1 if level else 0


class PtyUart:
    """The firmware's serial port: the simulator's pty, raw, read only as far as bytes are waiting
    (MicroPython's file read(n) would block until n bytes came)."""

    def __init__(self, path):
        self.file = open(path, "r+b", buffering=0)
        _setraw(self.file.fileno())
        self._poll = select.poll()
        self._poll.register(self.file, select.POLLIN)

    def any(self):
        return 1 if self._poll.poll(0) else 0

    def read(self, n):
        out = bytearray()
        while len(out) < n and self._poll.poll(0):
            byte = self.file.read(1)
            if not byte:
                break
            out.extend(byte)
        return bytes(out)

    def write(self, data):
        view = memoryview(data)
        while len(view):
            written = self.file.write(view)
            view = view[written if written else len(view):]


class SimBoard:
    """Commands on stdin, one per line: ``set tamper|presence|help_button 0|1``, ``press help_button MS``,
    ``quit``. End of stdin also quits."""

    def __init__(self, uart_path):
        self.light_green = SimPin()
        self.light_yellow = SimPin()
        self.light_red = SimPin()
        self.buzzer = SimPin()
        self.relay = SimPin()
        self.tamper = SimPin()
        self.presence = SimPin()
        self.help_button = SimPin()
        self.uart = PtyUart(uart_path)
        self._running = True
        self._press = None  # (start ticks, duration ms) of a help button press
        self._stdin_buf = b""
        self._poll = select.poll()
        self._poll.register(self.uart.file, select.POLLIN)
        self._poll.register(sys.stdin, select.POLLIN)
        self.wdt_timeout = None

    def ticks_ms(self):
        return ticks_ms()

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def alive(self):
        return self._running

    def idle(self, ms):
        """Waits up to ``ms`` for serial bytes; handles stdin commands meanwhile."""
        if self._press is not None and ticks_diff(ticks_ms(), self._press[0]) >= self._press[1]:
            self.help_button.value(0)
            self._press = None
        uart = self.uart.file
        for obj, flags in self._poll.poll(ms):
            # MicroPython's poll returns the registered objects, CPython's the file descriptors.
            if obj is not uart and obj != uart.fileno():
                self._read_commands(flags)

    def _read_commands(self, flags):
        if os is not None and hasattr(os, "read"):
            data = os.read(0, 256)  # CPython: sys.stdin buffers ahead of poll, so read the fd
            lines = (self._stdin_buf + data).split(b"\n")
            self._stdin_buf = lines.pop()
            lines = [line.decode() for line in lines]
        else:
            data = sys.stdin.readline()  # MicroPython reads exactly one line
            lines = [data.rstrip("\n")] if data else []
        if not data:
            self._running = False  # the simulator's wrapper went away
            return
        for line in lines:
            self.command(line.strip())

    def command(self, line):
        parts = line.split()
        if not parts:
            return
        if parts[0] == "quit":
            self._running = False
        elif parts[0] == "set" and len(parts) == 3 and parts[1] in INPUT_PINS:
            getattr(self, parts[1]).value(int(parts[2]))
        elif parts[0] == "press" and len(parts) == 3 and parts[1] == "help_button":
            self.help_button.value(1)
            self._press = (ticks_ms(), int(parts[2]))
        else:
            self.trace({"error": "unknown board command", "line": line})

    def start_watchdog(self, timeout_ms):
        self.wdt_timeout = timeout_ms

    def feed_watchdog(self):
        pass

    def reset_cause(self):
        return 0

    def trace(self, info):
        print(json.dumps(info))
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()
