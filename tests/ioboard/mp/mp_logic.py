"""Firmware logic under MicroPython with a fake clock: debouncing, the Pi watchdog state machine and the
timed outputs (light blink, buzzer pattern, relay pulse). Every test runs with the clock starting at 0
and at several points shortly before the RP2040's ticks wrap at 2**30 and before half of that, where
ticks_diff changes sign: a comparison of raw ticks fails one of them."""
import watchdog as wdm
from debounce import Debouncer
from fakeboard import TICKS_HALF, TICKS_MAX, FakeBoard, FakePin
from mptest import check, equal, run
from outputs import BLINK, GREEN, OFF, RED, STEADY, Buzzer, Light, Relay

CLOCK = FakeBoard()  # only its tick arithmetic is used here
BASE = [0]


def T(ms):
    """The tick ``ms`` milliseconds after the run's base."""
    return CLOCK.ticks_add(BASE[0], ms)


def test_debounce_accepts_only_stable_levels():
    pin = FakePin(0)
    deb = Debouncer(pin.value, 30, T(0), CLOCK)
    equal(deb.state, 0, "initial")
    # Chatter: every change restarts the wait.
    for t, level in ((0, 1), (10, 0), (20, 1), (35, 0), (45, 1)):
        pin.value(level)
        equal(deb.update(T(t)), -1, "bouncing at %d" % t)
    equal(deb.update(T(74)), -1, "29 ms stable is not enough")
    equal(deb.update(T(75)), 1, "30 ms stable")
    equal(deb.update(T(200)), -1, "reported once")
    pin.value(0)
    equal(deb.update(T(210)), -1, "release starts")
    equal(deb.update(T(240)), 0, "release accepted")


def test_debounce_ignores_glitch_shorter_than_window():
    pin = FakePin(1)
    deb = Debouncer(pin.value, 50, T(0), CLOCK)
    pin.value(0)
    deb.update(T(100))
    pin.value(1)
    for t in range(101, 400, 7):
        equal(deb.update(T(t)), -1, "glitch")
    equal(deb.state, 1, "state kept")


def test_watchdog_pulses_after_timeout_not_before():
    wd = wdm.PiWatchdog(1000, 500, 10000, 200, T(0), CLOCK)
    equal(wd.state, wdm.GRACE, "starts in grace")
    for t in range(0, 500, 50):
        check(not wd.update(T(t)), "no pulse in grace")
    wd.update(T(500))
    equal(wd.state, wdm.WATCHING, "watching after grace")
    # Heartbeats every 900 ms keep it quiet for a long time.
    for t in range(500, 20000, 100):
        if t % 900 == 0:
            wd.heartbeat(T(t))
        check(not wd.update(T(t)), "no pulse while beating (t=%d)" % t)
    last = 19800
    for t in range(20000, last + 1000, 10):
        check(not wd.update(T(t)), "not before timeout (t=%d)" % t)
    check(wd.update(T(last + 1000)), "pulse at timeout")
    equal(wd.state, wdm.PULSING, "pulsing")
    equal(wd.cycles, 1, "one cycle")
    equal(wd.last_silent_ms, 1000, "silent for the timeout")


def test_watchdog_grace_after_pulse_and_minimum_interval():
    wd = wdm.PiWatchdog(1000, 500, 10000, 200, T(0), CLOCK)
    pulses = []
    for t in range(0, 40000, 10):
        if wd.update(T(t)):
            pulses.append(t)
    # First: grace 500 + timeout 1000. Later ones: held off until 10 s after the previous.
    equal(pulses[0], 1500, "first pulse")
    for a, b in zip(pulses, pulses[1:]):
        check(b - a >= 10000, "cycles %d and %d too close" % (a, b))
    equal(len(pulses), 4, "1500, 11500, 21500, 31500")


def test_watchdog_heartbeat_ends_holdoff_and_grace():
    wd = wdm.PiWatchdog(1000, 5000, 10000, 200, T(0), CLOCK)
    wd.heartbeat(T(100))
    equal(wd.state, wdm.WATCHING, "heartbeat ends grace early")
    check(wd.update(T(1100)), "pulse")
    wd.update(T(1300))
    wd.update(T(6300))
    equal(wd.state, wdm.WATCHING, "grace over")
    wd.update(T(7300))
    equal(wd.state, wdm.HOLDOFF, "hold-off: last cycle too recent")
    wd.heartbeat(T(7400))
    wd.update(T(7400))
    equal(wd.state, wdm.WATCHING, "heartbeat ends hold-off")
    equal(wd.cycles, 1, "still one cycle")


def test_light_blinks_and_switches_off():
    g, y, r = FakePin(), FakePin(), FakePin()
    light = Light(g, y, r, CLOCK)
    light.set(GREEN, STEADY, T(0))
    equal((g.level, y.level, r.level), (1, 0, 0), "green steady")
    for t in range(0, 3000, 50):
        light.update(T(t))
    equal(g.history, [0, 1], "steady never toggles")
    light.set(RED, BLINK, T(3000))
    equal((g.level, r.level), (0, 1), "red on")
    for t in range(3000, 5001, 10):
        light.update(T(t))
    equal(r.history, [0, 1, 0, 1, 0, 1], "blinks every 500 ms")
    light.set(RED, OFF, T(6000))
    equal((g.level, y.level, r.level), (0, 0, 0), "off")


def test_buzzer_double_pattern():
    pin = FakePin()
    buzzer = Buzzer(pin, CLOCK)
    buzzer.play(2, T(0))
    check(buzzer.busy, "busy")
    edges = []
    for t in range(0, 1000, 10):
        level = pin.level
        buzzer.update(T(t))
        if pin.level != level:
            edges.append(t)
    equal(pin.history, [0, 1, 0, 1, 0], "two beeps")
    equal(edges, [100, 200, 300], "on 0.1 s, off 0.1 s, on 0.1 s")
    check(not buzzer.busy, "done")


def test_relay_pulse_releases():
    pin = FakePin()
    relay = Relay(pin, CLOCK)
    relay.pulse(T(100), 2000)
    check(relay.active and pin.level == 1, "energised")
    for t in range(100, 2100, 50):
        check(not relay.update(T(t)), "still on at %d" % t)
    check(not relay.update(T(2099)), "still on")
    check(relay.update(T(2100)), "released")
    equal(pin.history, [0, 1, 0], "one pulse")



TESTS = [
    test_debounce_accepts_only_stable_levels, test_debounce_ignores_glitch_shorter_than_window,
    test_watchdog_pulses_after_timeout_not_before, test_watchdog_grace_after_pulse_and_minimum_interval,
    test_watchdog_heartbeat_ends_holdoff_and_grace, test_light_blinks_and_switches_off,
    test_buzzer_double_pattern, test_relay_pulse_releases,
]


class AtBase:
    def __init__(self, test, base):
        self.test, self.base = test, base
        self.__name__ = "%s@%d" % (test.__name__, base)

    def __call__(self):
        BASE[0] = self.base
        self.test()


# The wrap (or the half period) falls at a different moment of each test with each base.
BASES = [0] + [edge - ms for edge in (TICKS_MAX + 1, TICKS_HALF) for ms in (40, 60, 120, 700, 3500)]
run([AtBase(test, base) for base in BASES for test in TESTS])
