"""Firmware logic under MicroPython with a fake clock: debouncing, the Pi watchdog state machine and the
timed outputs (light blink, buzzer pattern, relay pulse)."""
import watchdog as wdm
from debounce import Debouncer
from fakeboard import FakePin
from mptest import check, equal, run
from outputs import BLINK, GREEN, OFF, RED, STEADY, Buzzer, Light, Relay


def test_debounce_accepts_only_stable_levels():
    pin = FakePin(0)
    deb = Debouncer(pin.value, 30, 0)
    equal(deb.state, 0, "initial")
    # Chatter: every change restarts the wait.
    for t, level in ((0, 1), (10, 0), (20, 1), (35, 0), (45, 1)):
        pin.value(level)
        equal(deb.update(t), None, "bouncing at %d" % t)
    equal(deb.update(74), None, "29 ms stable is not enough")
    equal(deb.update(75), 1, "30 ms stable")
    equal(deb.update(200), None, "reported once")
    pin.value(0)
    equal(deb.update(210), None, "release starts")
    equal(deb.update(240), 0, "release accepted")


def test_debounce_ignores_glitch_shorter_than_window():
    pin = FakePin(1)
    deb = Debouncer(pin.value, 50, 0)
    pin.value(0)
    deb.update(100)
    pin.value(1)
    for t in range(101, 400, 7):
        equal(deb.update(t), None, "glitch")
    equal(deb.state, 1, "state kept")


def test_watchdog_pulses_after_timeout_not_before():
    wd = wdm.PiWatchdog(1000, 500, 10000, 200, 0)
    equal(wd.state, wdm.GRACE, "starts in grace")
    for t in range(0, 500, 50):
        check(not wd.update(t), "no pulse in grace")
    wd.update(500)
    equal(wd.state, wdm.WATCHING, "watching after grace")
    # Heartbeats every 900 ms keep it quiet for a long time.
    for t in range(500, 20000, 100):
        if t % 900 == 0:
            wd.heartbeat(t)
        check(not wd.update(t), "no pulse while beating (t=%d)" % t)
    last = 19800
    for t in range(20000, last + 1000, 10):
        check(not wd.update(t), "not before timeout (t=%d)" % t)
    check(wd.update(last + 1000), "pulse at timeout")
    equal(wd.state, wdm.PULSING, "pulsing")
    equal(wd.cycles, 1, "one cycle")
    equal(wd.last_pulse_info[0], 1000, "silent for the timeout")


def test_watchdog_grace_after_pulse_and_minimum_interval():
    wd = wdm.PiWatchdog(1000, 500, 10000, 200, 0)
    pulses = []
    for t in range(0, 40000, 10):
        if wd.update(t):
            pulses.append(t)
    # First: grace 500 + timeout 1000. Later ones: held off until 10 s after the previous.
    equal(pulses[0], 1500, "first pulse")
    for a, b in zip(pulses, pulses[1:]):
        check(b - a >= 10000, "cycles %d and %d too close" % (a, b))
    equal(len(pulses), 4, "1500, 11500, 21500, 31500")


def test_watchdog_heartbeat_ends_holdoff_and_grace():
    wd = wdm.PiWatchdog(1000, 5000, 10000, 200, 0)
    wd.heartbeat(100)
    equal(wd.state, wdm.WATCHING, "heartbeat ends grace early")
    check(wd.update(1100), "pulse")
    wd.update(1300)
    wd.update(6300)
    equal(wd.state, wdm.WATCHING, "grace over")
    wd.update(7300)
    equal(wd.state, wdm.HOLDOFF, "hold-off: last cycle too recent")
    wd.heartbeat(7400)
    wd.update(7400)
    equal(wd.state, wdm.WATCHING, "heartbeat ends hold-off")
    equal(wd.cycles, 1, "still one cycle")


def test_light_blinks_and_switches_off():
    g, y, r = FakePin(), FakePin(), FakePin()
    light = Light(g, y, r)
    light.set(GREEN, STEADY, 0)
    equal((g.level, y.level, r.level), (1, 0, 0), "green steady")
    for t in range(0, 3000, 50):
        light.update(t)
    equal(g.history, [0, 1], "steady never toggles")
    light.set(RED, BLINK, 3000)
    equal((g.level, r.level), (0, 1), "red on")
    for t in range(3000, 5001, 10):
        light.update(t)
    equal(r.history, [0, 1, 0, 1, 0, 1], "blinks every 500 ms")
    light.set(RED, OFF, 6000)
    equal((g.level, y.level, r.level), (0, 0, 0), "off")


def test_buzzer_double_pattern():
    pin = FakePin()
    buzzer = Buzzer(pin)
    buzzer.play(2, 0)
    check(buzzer.busy, "busy")
    for t in range(0, 1000, 10):
        buzzer.update(t)
    equal(pin.history, [0, 1, 0, 1, 0], "two beeps")
    check(not buzzer.busy, "done")


def test_relay_pulse_releases():
    pin = FakePin()
    relay = Relay(pin)
    relay.pulse(100, 2000)
    check(relay.active and pin.level == 1, "energised")
    check(not relay.update(2099), "still on")
    check(relay.update(2100), "released")
    equal(pin.history, [0, 1, 0], "one pulse")


run([test_debounce_accepts_only_stable_levels, test_debounce_ignores_glitch_shorter_than_window,
     test_watchdog_pulses_after_timeout_not_before, test_watchdog_grace_after_pulse_and_minimum_interval,
     test_watchdog_heartbeat_ends_holdoff_and_grace, test_light_blinks_and_switches_off,
     test_buzzer_double_pattern, test_relay_pulse_releases])
