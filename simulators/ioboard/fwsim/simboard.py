"""Simulated board support for the IO board firmware, for both the MicroPython unix port and CPython:
the UART is a pseudo-terminal opened by path, the flash filesystem is a folder, the pins are levels set
by commands on stdin, and every light, buzzer and relay change is printed as a JSON line on stdout.
A reset ends the process with RESET_EXIT (the simulator starts it again); a power cut kills it."""
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
    from time import ticks_add, ticks_diff, ticks_ms  # MicroPython
except ImportError:  # CPython: the same contract from the monotonic clock (never wraps here)
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_add(ticks, delta):
        return ticks + delta

    def ticks_diff(a, b):
        return a - b

INPUT_PINS = ("tamper", "presence", "help_button")
RESET_EXIT = 75  # the firmware asked for a reset: the simulator restarts it


def _setraw(fd):
    # MicroPython's termios has setraw; CPython keeps it in the tty module.
    if termios is not None and hasattr(termios, "setraw"):
        termios.setraw(fd)
    else:
        import tty
        tty.setraw(fd)


def cut_power():
    """Ends this process at once, as a power cut ends the board: no cleanup, no flush of anything."""
    sys.stdout.flush()
    if sys.implementation.name == "micropython":
        os.system("kill -9 $PPID")  # the shell's parent is this interpreter; the unix port has no kill()
    else:
        import signal
        os.kill(os.getpid(), signal.SIGKILL)


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
        self.file = open(path, "r+b", buffering=0)  # noqa: SIM115 - open for the life of the board
        _setraw(self.file.fileno())
        self._poll = select.poll()
        self._poll.register(self.file, select.POLLIN)
        self._one = bytearray(1)

    def any(self):
        return 1 if self._poll.poll(0) else 0

    def readinto(self, buf):
        count = 0
        while count < len(buf) and self._poll.poll(0):
            if not self.file.readinto(self._one):
                break
            buf[count] = self._one[0]
            count += 1
        return count

    def write(self, buf, count):
        view = memoryview(buf)[:count]
        while len(view):
            written = self.file.write(view)
            view = view[written if written else len(view):]


class SimBoard:
    """Commands on stdin, one per line: ``set tamper|presence|help_button 0|1``, ``press help_button MS``,
    ``killat POINT N`` (cut the power at the Nth ``checkpoint(POINT)`` from now), ``quit``. End of stdin
    also quits."""

    tracing = True

    def __init__(self, uart_path, flash_dir, cause=0):
        self.light_green = SimPin()
        self.light_yellow = SimPin()
        self.light_red = SimPin()
        self.buzzer = SimPin()
        self.relay = SimPin()
        self.tamper = SimPin()
        self.presence = SimPin()
        self.help_button = SimPin()
        self.uart = PtyUart(uart_path)
        self.root = flash_dir.rstrip("/") + "/"
        self._cause = cause
        self._running = True
        self._press = None  # (start ticks, duration ms) of a help button press
        self._kill_at = None  # [checkpoint name, hits to go]
        self._stdin_buf = b""
        self._poll = select.poll()
        self._poll.register(self.uart.file, select.POLLIN)
        self._poll.register(sys.stdin, select.POLLIN)
        self.wdt_timeout = None

    def ticks_ms(self):
        return ticks_ms()

    def ticks_add(self, ticks, delta):
        return ticks_add(ticks, delta)

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
        elif parts[0] == "killat" and len(parts) == 3:
            self._kill_at = [parts[1], int(parts[2])]
        else:
            self.trace({"error": "unknown board command", "line": line})

    def start_watchdog(self, timeout_ms):
        self.wdt_timeout = timeout_ms

    def feed_watchdog(self):
        pass

    def reset_cause(self):
        return self._cause

    def reset(self):
        self.trace({"reset": "requested"})
        sys.exit(RESET_EXIT)

    def checkpoint(self, name):
        kill = self._kill_at
        if kill is None or kill[0] != name:
            return
        kill[1] -= 1
        if kill[1] <= 0:
            self.trace({"power": "cut", "at": name})
            cut_power()

    def trace(self, info):
        if "firmware" in info:
            info["implementation"] = sys.implementation.name
        print(json.dumps(info))
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()
