"""The whole firmware loop (App) under MicroPython with a fake board and clock: session, commands,
duplicate suppression, events until acknowledged, bad frames, and the relay driven by heartbeat loss."""
import frames as fr
from app import App
from fakeboard import FakeBoard
from mptest import check, equal, run

FAST = {"heartbeat_timeout_ms": 1000, "boot_grace_ms": 500, "min_cycle_ms": 5000, "relay_pulse_ms": 100,
        "board_heartbeat_ms": 300, "event_retry_ms": 200}


def make(**cfg):
    board = FakeBoard()
    settings = dict(FAST)
    settings.update(cfg)
    return board, App(board, **settings)


def exchange(board, app, frame, ms=10):
    """Delivers bytes, runs the loop for ``ms`` fake milliseconds, returns the frames the board sent."""
    board.uart.put(frame)
    for _ in range(ms // 5):
        app.step()
        board.idle(5)
    return fr.Parser().feed(board.uart.take())


def hello(board, app, seq=0):
    return exchange(board, app, fr.encode(fr.HELLO, seq, b"\x01"))


def test_commands_need_a_session():
    board, app = make()
    got = exchange(board, app, fr.encode(fr.SET_LIGHT, 7, b"\x01\x01"))
    equal([(g[0], g[2]) for g in got], [(fr.NAK, bytes((7, fr.NAK_NO_SESSION)))], "NAK before HELLO")


def test_handshake_reports_version_and_status():
    board, app = make()
    check(board.wdt_timeout, "hardware watchdog started")
    got = hello(board, app, seq=9)
    welcome = [g for g in got if g[0] == fr.WELCOME]
    equal(len(welcome), 1, "one WELCOME")
    payload = welcome[0][2]
    equal(payload[:5], bytes((1, 9, 1, 0, 0)), "version, ref, firmware")
    equal(len(payload), 17, "with STATUS")
    equal((payload[6], payload[7]), (2, 2), "yellow blink at boot")
    check(board.feeds > 0, "watchdog fed")
    board2, app2 = make()
    got = exchange(board2, app2, fr.encode(fr.HELLO, 0, b"\x02"))
    equal([(g[0], g[2]) for g in got], [(fr.NAK, bytes((0, fr.NAK_BAD_VERSION)))], "version 2 refused")


def test_set_light_buzz_and_duplicate_suppression():
    board, app = make()
    hello(board, app)
    got = exchange(board, app, fr.encode(fr.SET_LIGHT, 1, b"\x01\x01"))
    check((fr.ACK, b"\x01") in [(g[0], g[2]) for g in got], "ACK for SET_LIGHT")
    equal((board.light_green.level, board.light_yellow.level, board.light_red.level), (1, 0, 0), "green")
    buzz = fr.encode(fr.BUZZ, 2, b"\x01")
    first = [g for g in exchange(board, app, buzz, ms=300) if g[0] == fr.ACK]
    again = [g for g in exchange(board, app, buzz, ms=300) if g[0] == fr.ACK]
    equal(again, first, "identical reply to a repeat")
    equal(board.buzzer.history, [0, 1, 0], "buzzed once, not twice")
    equal(len(board.traced("buzzer")), 1, "one buzzer trace")
    # Same seq, other payload: a new command. Same frame long after: the seq wrapped, also new.
    exchange(board, app, fr.encode(fr.BUZZ, 2, b"\x03"), ms=700)
    equal(len(board.traced("buzzer")), 2, "other payload executes")
    exchange(board, app, b"", ms=2000)
    exchange(board, app, fr.encode(fr.BUZZ, 2, b"\x03"), ms=700)
    equal(len(board.traced("buzzer")), 3, "same frame after the repeat window executes")


def test_bad_payload_and_unknown_type():
    board, app = make()
    hello(board, app)
    got = exchange(board, app, fr.encode(fr.SET_LIGHT, 3, b"\x09\x01"))
    check((fr.NAK, bytes((3, fr.NAK_BAD_PAYLOAD))) in [(g[0], g[2]) for g in got], "bad colour")
    got = exchange(board, app, fr.encode(0x7E, 4, b""))
    check((fr.NAK, bytes((4, fr.NAK_UNKNOWN_TYPE))) in [(g[0], g[2]) for g in got], "unknown type")
    got = exchange(board, app, fr.encode(fr.CONFIG, 5, b"\x63\x00\x00\x00\x01"))
    check((fr.NAK, bytes((5, fr.NAK_BAD_PAYLOAD))) in [(g[0], g[2]) for g in got], "unknown key")


def test_config_and_status():
    board, app = make()
    hello(board, app)
    got = exchange(board, app, fr.encode(fr.CONFIG, 1, b"\x01\x00\x00\x05\xdc\x05\x00\x00\x00\x0a"))
    check((fr.ACK, b"\x01") in [(g[0], g[2]) for g in got], "config ACK")
    equal(app.watchdog.timeout_ms, 1500, "timeout set")
    equal(app.inputs[0][1].stable_ms, 10, "debounce set")
    got = [g for g in exchange(board, app, fr.encode(fr.GET_STATUS, 2)) if g[0] == fr.ACK]
    equal(len(got[0][2]), 13, "REF + STATUS")


def test_events_repeat_until_acked_and_in_order():
    board, app = make()
    board.tamper.value(1)
    board.help_button.value(1)
    got = exchange(board, app, b"", ms=100)
    equal([g for g in got if g[0] == fr.EVENT], [], "no events before the session")
    got = hello(board, app)
    events = [g for g in got if g[0] == fr.EVENT]
    equal(events[0][2], b"\x04\x00", "boot event first")
    boot_seq = events[0][1]
    got = exchange(board, app, b"", ms=450)
    repeats = [g for g in got if g[0] == fr.EVENT]
    check(len(repeats) >= 2, "repeated while not acked")
    check(all(g[1] == boot_seq and g[2] == b"\x04\x00" for g in repeats), "same seq, same event")
    seen = []
    for _ in range(6):
        if repeats:
            seen.append(repeats[0][2])
            ack = fr.encode(fr.ACK, 50 + len(seen), bytes((repeats[0][1],)))
            repeats = [g for g in exchange(board, app, ack, ms=250) if g[0] == fr.EVENT]
    equal(seen, [b"\x04\x00", b"\x01\x01", b"\x03\x01"], "boot, tamper open, help pressed")
    equal(repeats, [], "queue empty")


def test_garbage_counted_never_fatal():
    board, app = make()
    hello(board, app)
    noise = bytes(range(256)) + b"\xa5\x5a\x10\x00\x02\x01\x01\x00\x00" + b"\xa5\x5a\x01\x00\x40"
    exchange(board, app, noise, ms=200)
    check(app.parser.bad >= 2, "bad candidates counted")
    got = exchange(board, app, fr.encode(fr.SET_LIGHT, 11, b"\x03\x02"))
    check((fr.ACK, bytes((11,))) in [(g[0], g[2]) for g in got], "still serving after garbage")
    equal(board.light_red.level, 1, "red on")
    equal(app.errors, 0, "no handler errors")


def test_relay_pulse_after_heartbeat_loss_and_min_interval():
    board, app = make()
    beat = fr.encode(fr.HEARTBEAT, 0)
    for _ in range(10):  # 4 s of heartbeats every 400 ms: never cycled
        exchange(board, app, beat, ms=400)
    equal(board.relay.history, [0], "no pulse while beating")
    exchange(board, app, b"", ms=590)  # the last heartbeat came 400 ms ago
    equal(board.relay.history, [0], "not before the timeout")
    exchange(board, app, b"", ms=20)
    equal(board.relay.history, [0, 1], "pulse after the timeout")
    exchange(board, app, b"", ms=8000)
    pulses = board.traced("relay")
    pulses = [p for p in pulses if p["relay"] == "pulse"]
    equal(len(pulses), 2, "second cycle only after the minimum interval")
    check(pulses[1]["since_last_cycle_ms"] >= 5000, "spacing")
    check(pulses[0]["silent_ms"] >= 1000, "silent for the timeout")
    check({"watchdog": "holdoff"} in board.traces, "held off in between")


run([test_commands_need_a_session, test_handshake_reports_version_and_status,
     test_set_light_buzz_and_duplicate_suppression, test_bad_payload_and_unknown_type, test_config_and_status,
     test_events_repeat_until_acked_and_in_order, test_garbage_counted_never_fatal,
     test_relay_pulse_after_heartbeat_loss_and_min_interval])
