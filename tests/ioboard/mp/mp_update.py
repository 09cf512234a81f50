"""Firmware update, the board's side, under MicroPython: the FW_* frames through the real loop (App) with
the boot guard (fwboot.Guard) writing real files in a temporary folder that stands for the flash.
A "reboot" here is a new Guard and App on the same folder, as main.py does at power-on.

Usage: micropython mp_update.py DOC_PATH FLASH_DIR"""
import hashlib
import os
import sys

import frames as fr
import fwboot
from app import App
from fakeboard import BoardReset, FakeBoard, PowerCut
from mptest import check, equal, read_vectors, run

VECTORS = dict((v[0], v) for v in read_vectors(sys.argv[1] if len(sys.argv) > 1 else "docs/ioboard-protocol.md"))
ROOT = (sys.argv[2] if len(sys.argv) > 2 else "/tmp/ioboard-update-test") + "/"
OLD = {"app.py": b"# old app\n", "version.py": b"FIRMWARE_VERSION = (1, 0, 0)\n", "frames.py": b"# old frames\n"}
NEW = {"app.py": b"# new app\n" * 40, "version.py": b"FIRMWARE_VERSION = (1, 1, 0)\n", "extra.py": b"# added\n"}


def wipe(path):
    for name in os.listdir(path):
        full = path + "/" + name
        if os.stat(full)[0] & 0x4000:  # a folder
            wipe(full)
            os.rmdir(full)
        else:
            os.remove(full)


def read(name):
    try:
        with open(ROOT + name, "rb") as f:
            return f.read()
    except OSError:
        return None


def flash_state():
    """Which firmware the flash holds: "old", "new", or "mixed" (the one outcome that must never be)."""
    got = dict((name, read(name)) for name in ("app.py", "version.py", "frames.py", "extra.py"))
    if got == {"app.py": OLD["app.py"], "version.py": OLD["version.py"], "frames.py": OLD["frames.py"],
               "extra.py": None}:
        return "old"
    if got == {"app.py": NEW["app.py"], "version.py": NEW["version.py"], "frames.py": OLD["frames.py"],
               "extra.py": NEW["extra.py"]}:
        return "new"
    return "mixed: %r" % got


class Board:
    """A FakeBoard with a firmware in its flash folder, its guard and its loop, and a host that talks."""

    def __init__(self, fresh=True, **guard_options):
        if fresh:
            wipe(ROOT[:-1])
            for name in OLD:
                with open(ROOT + name, "wb") as f:
                    f.write(OLD[name])
        self.board = FakeBoard(root=ROOT)
        self.guard = fwboot.Guard(self.board, **guard_options)
        self.guard.recover()
        self.guard.install()
        self.app = App(self.board, self.guard)
        self.seq = 0
        self.request(fr.HELLO, bytes((fr.PROTOCOL_VERSION,)), fr.WELCOME)

    def run_ms(self, ms):
        for _ in range(ms // 5):
            self.app.step()
            self.board.idle(5)

    def request(self, ftype, payload=b"", want=None):
        """Sends a frame, runs the loop briefly; the board's answer as (type, payload after REF)."""
        self.seq = (self.seq + 1) & 0xFF
        self.board.uart.put(fr.encode(ftype, self.seq, payload))
        self.run_ms(10)
        for got_type, _, got in fr.Parser().feed(self.board.uart.take()):
            if got_type == fr.WELCOME and want == fr.WELCOME:
                return got_type, got
            if got_type in (fr.ACK, fr.NAK) and got[:1] == bytes((self.seq,)):
                return got_type, got[1:]
        raise AssertionError("no answer to frame type 0x%02x" % ftype)

    def ok(self, ftype, payload=b""):
        answer = self.request(ftype, payload)
        equal(answer[0], fr.ACK, "ACK for 0x%02x (got %r)" % (ftype, answer))
        return answer[1]

    def nak(self, ftype, payload, reason, what):
        equal(self.request(ftype, payload), (fr.NAK, bytes((reason,))), what)

    def send_file(self, name, data, declared=None):
        digest = hashlib.sha256(declared if declared is not None else data).digest()
        size = len(declared if declared is not None else data)
        self.ok(fr.FW_FILE, bytes((0, size >> 16, (size >> 8) & 0xFF, size & 0xFF)) + digest + name.encode())
        for offset in range(0, len(data), 60):
            chunk = data[offset:offset + 60]
            written = self.ok(fr.FW_DATA, bytes((0, offset >> 16, (offset >> 8) & 0xFF, offset & 0xFF)) + chunk)
            equal(written, u32(offset + len(chunk)), "length after the chunk")
        return self.request(fr.FW_VERIFY)

    def stage(self, files):
        self.ok(fr.FW_BEGIN)
        for name in sorted(files):
            equal(self.send_file(name, files[name]), (fr.ACK, b""), "verified " + name)

    def commit_and_restart(self):
        self.ok(fr.FW_COMMIT)
        check(restarted(self.run_ms, 400), "no reset after FW_COMMIT")

    def state(self):
        """(trial, backup, begun, trial boots, rollback reason, staged files) from FW_STATE."""
        data = self.ok(fr.FW_STATE)
        return bool(data[0] & 1), bool(data[0] & 2), bool(data[0] & 4), data[1], data[2], data[3]


def discard(buf, count):
    pass


def restarted(action, *args):
    """Runs ``action(*args)``; True when the board reset itself meanwhile (nothing after it ran)."""
    try:
        action(*args)
    except BoardReset:
        return True
    return False


def u32(value):
    return bytes((value >> 24, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF))


def test_good_update_then_confirm():
    b = Board()
    b.stage(NEW)
    equal(b.state(), (False, False, True, 0, 0, 3), "staged, not yet committed")
    equal(flash_state(), "old", "nothing replaced before the commit")
    b.commit_and_restart()
    equal(flash_state(), "new", "files swapped")
    equal(read("bak/app.py"), OLD["app.py"], "previous app kept")
    check(read("bak/extra.py") is None, "an added file has no backup")
    b = Board(fresh=False)  # the board starts again on the new files
    equal(b.state(), (True, True, False, 1, 0, 0), "on trial, first boot, backup kept")
    b.ok(fr.FW_CONFIRM)
    equal(b.state()[:2], (False, True), "confirmed; the backup stays for a later rollback")
    b = Board(fresh=False)
    equal(b.state()[0], False, "still confirmed after another start")
    equal(flash_state(), "new", "new firmware stays")


def test_corrupted_file_refused_old_firmware_stays():
    b = Board()
    b.ok(fr.FW_BEGIN)
    damaged = NEW["app.py"][:100] + b"X" + NEW["app.py"][101:]
    equal(b.send_file("app.py", damaged, declared=NEW["app.py"]), (fr.NAK, bytes((fr.NAK_BAD_HASH,))),
          "whole-file check refuses the damaged copy")
    check(read("upd/app.py") is None, "damaged staged copy deleted")
    truncated = NEW["version.py"][:-5]
    equal(b.send_file("version.py", truncated, declared=NEW["version.py"]), (fr.NAK, bytes((fr.NAK_BAD_HASH,))),
          "a short file is refused")
    b.nak(fr.FW_COMMIT, b"", fr.NAK_BAD_STATE, "nothing verified: no commit")
    equal(flash_state(), "old", "old firmware untouched")
    # A chunk with a broken CRC never reaches the handler: the host sends it again.
    b.ok(fr.FW_FILE, u32(len(NEW["extra.py"])) + hashlib.sha256(NEW["extra.py"]).digest() + b"extra.py")
    frame = bytearray(fr.encode(fr.FW_DATA, 99, u32(0) + NEW["extra.py"]))
    frame[9] ^= 0xFF
    bad_before = b.app.parser.bad
    b.board.uart.put(frame)
    b.run_ms(200)
    check(b.app.parser.bad > bad_before, "damaged frame counted")
    equal(b.ok(fr.FW_DATA, u32(0) + NEW["extra.py"]), u32(len(NEW["extra.py"])), "the retransmission is written")
    equal(b.request(fr.FW_VERIFY), (fr.ACK, b""), "verified")


def test_chunks_at_the_wrong_place_and_repeats():
    b = Board()
    b.ok(fr.FW_BEGIN)
    data = NEW["app.py"]
    b.ok(fr.FW_FILE, u32(len(data)) + hashlib.sha256(data).digest() + b"app.py")
    b.nak(fr.FW_DATA, u32(60) + data[60:120], fr.NAK_BAD_STATE, "a gap")
    equal(b.ok(fr.FW_DATA, u32(0) + data[:60]), u32(60), "first chunk")
    equal(b.ok(fr.FW_DATA, u32(0) + data[:60]), u32(60), "the same chunk again (lost ACK): not written twice")
    b.nak(fr.FW_DATA, u32(60) + data[60:60] + b"", fr.NAK_BAD_PAYLOAD, "an empty chunk")
    for offset in range(60, len(data), 60):
        b.ok(fr.FW_DATA, u32(offset) + data[offset:offset + 60])
    b.nak(fr.FW_DATA, u32(len(data)) + b"more", fr.NAK_BAD_PAYLOAD, "past the declared size")
    equal(b.request(fr.FW_VERIFY), (fr.ACK, b""), "whole file verified")


def test_bad_names_and_order_refused():
    b = Board()
    digest = hashlib.sha256(b"x").digest()
    b.nak(fr.FW_FILE, u32(1) + digest + b"app.py", fr.NAK_BAD_STATE, "FW_FILE before FW_BEGIN")
    b.nak(fr.FW_DATA, u32(0) + b"x", fr.NAK_BAD_STATE, "FW_DATA without a file")
    b.nak(fr.FW_VERIFY, b"", fr.NAK_BAD_STATE, "FW_VERIFY without a file")
    b.ok(fr.FW_BEGIN)
    for name in (b"main.py", b"fwboot.py", b"boot.py", b"../app.py", b"App.py", b"app", b".py", b"app.txt",
                 b"a" * 22 + b".py", b"\xff.py"):
        b.nak(fr.FW_FILE, u32(1) + digest + name, fr.NAK_BAD_PAYLOAD, "name %r" % name)
    b.nak(fr.FW_FILE, u32(0x40000) + digest + b"app.py", fr.NAK_BAD_PAYLOAD, "256 KiB or more")
    b.nak(fr.FW_FILE, u32(1) + digest[:10], fr.NAK_BAD_PAYLOAD, "no name")
    b.nak(fr.FW_ROLLBACK, b"", fr.NAK_BAD_STATE, "no backup to roll back to")
    equal(flash_state(), "old", "nothing changed")


def test_power_cut_at_every_step_of_the_commit():
    cut = 1
    outcomes = []
    while True:
        b = Board()
        b.stage(NEW)
        b.board.cut_at = ["commit", cut]
        try:
            b.ok(fr.FW_COMMIT)
        except PowerCut:
            pass
        else:
            break  # past the last checkpoint: the commit completed
        b = Board(fresh=False)  # power back: the guard finishes or forgets the commit
        state = flash_state()
        outcomes.append(state)
        check(state in ("old", "new"), "cut at commit step %d left %s" % (cut, state))
        if state == "new":
            equal(b.state()[0], True, "a finished commit is on trial")
        cut += 1
    check(cut > 5, "the commit has several steps (%d)" % cut)
    equal(outcomes[0], "old", "cut before the journal: the old firmware")
    equal(outcomes[-1], "new", "cut after the journal: the new firmware")


def test_unconfirmed_firmware_rolls_back_after_its_boots():
    b = Board()
    b.stage(NEW)
    b.commit_and_restart()
    for boot in (1, 2, 3):
        b = Board(fresh=False)
        equal(b.state()[:4], (True, True, False, boot), "trial boot %d" % boot)
        equal(flash_state(), "new", "new firmware on trial boot %d" % boot)
    b = Board(fresh=False)  # a 4th start without a confirmation: back to the old files
    equal(flash_state(), "old", "rolled back")
    equal(b.state(), (False, False, False, 0, fwboot.ROLLBACK_BOOTS, 0), "reason: too many boots")


def test_unconfirmed_firmware_rolls_back_after_its_time():
    b = Board()
    b.stage(NEW)
    b.commit_and_restart()
    b = Board(fresh=False, trial_ms=3000)
    b.run_ms(2000)
    equal(flash_state(), "new", "still on trial")
    check(restarted(b.run_ms, 1500), "no reset when the trial ran out")
    equal(flash_state(), "old", "rolled back")
    b = Board(fresh=False)
    equal(b.state()[4], fwboot.ROLLBACK_UNCONFIRMED, "reason: not confirmed in time")


def test_crash_on_trial_rolls_back_at_once():
    b = Board()
    b.stage(NEW)
    b.commit_and_restart()
    b = Board(fresh=False)
    check(restarted(b.guard.crashed, ImportError("no module named 'app'")), "reset after the crash")
    equal(flash_state(), "old", "rolled back")
    equal(Board(fresh=False).state()[4], fwboot.ROLLBACK_CRASHED, "reason: crashed")


def test_rollback_on_request_and_cut_power_during_it():
    b = Board()
    b.stage(NEW)
    b.commit_and_restart()
    b = Board(fresh=False)
    b.nak(fr.FW_BEGIN, b"", fr.NAK_BAD_STATE, "no new update while one is on trial")
    b.ok(fr.FW_CONFIRM)
    b.board.cut_at = ["rollback", 2]
    try:
        b.ok(fr.FW_ROLLBACK)
    except PowerCut:
        pass
    check(flash_state() != "new", "rollback under way")
    b = Board(fresh=False)  # the guard finishes the rollback at the next start
    equal(flash_state(), "old", "previous firmware back")
    equal(b.state()[:2], (False, False), "nothing on trial, backup used up")
    b.nak(fr.FW_ROLLBACK, b"", fr.NAK_BAD_STATE, "only one step back")


def test_update_frames_allocate_nothing_between_them():
    # The loop's allocation-free promise holds before and after an update: the update itself may
    # allocate (files, hashes), the loop around it may not leak.
    import gc
    b = Board()
    b.stage(NEW)
    b.board.tracing = False
    b.app.tracing = False
    b.board.uart.sink = discard  # the fake UART's outbox would grow, and so would the pins' histories
    for pin in (b.board.light_green, b.board.light_yellow, b.board.light_red, b.board.buzzer, b.board.relay):
        pin.record = False
    b.run_ms(100)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_free()
        b.run_ms(2000)
        after = gc.mem_free()
    finally:
        gc.enable()
    equal(before - after, 0, "bytes allocated by the idle loop after an update was staged")


def vector_reply(b, name, frame=None):
    """Sends the document's frame ``name`` (or ``frame``) as it is; the board's ACK/NAK payloads."""
    b.board.uart.put(frame or VECTORS[name][4])
    b.run_ms(10)
    return [(t, payload) for t, _, payload in fr.Parser().feed(b.board.uart.take()) if t in (fr.ACK, fr.NAK)]


def test_document_vectors_through_the_loop():
    version = VECTORS["fw_data_version"][3][4:]
    b = Board()
    equal(vector_reply(b, "fw_begin"), [(fr.ACK, b"\x10")], "begin")
    equal(vector_reply(b, "fw_file_version"), [(fr.ACK, b"\x11")], "file")
    equal(vector_reply(b, "fw_data_version"), [(fr.ACK, VECTORS["ack_fw_data"][3])], "data: 29 bytes written")
    equal(vector_reply(b, "fw_verify"), [(fr.ACK, b"\x13")], "verified")
    equal(vector_reply(b, "fw_commit"), [(fr.ACK, b"\x14")], "committed")
    check(restarted(b.run_ms, 400), "restart after the commit")
    b = Board(fresh=False)
    equal(vector_reply(b, "fw_state"), [(fr.ACK, VECTORS["ack_fw_state_trial"][3])], "state after the restart")
    equal(vector_reply(b, "fw_confirm"), [(fr.ACK, b"\x16")], "confirmed")
    equal(read("version.py"), version, "the vector's file installed")
    # The same file altered in transit under a valid CRC: refused by the board's own check.
    b = Board()
    vector_reply(b, "fw_begin")
    vector_reply(b, "fw_file_version")
    altered = fr.encode(fr.FW_DATA, 0x12, VECTORS["fw_data_version"][3][:-2] + b"9\n")
    equal(vector_reply(b, "", altered), [(fr.ACK, VECTORS["ack_fw_data"][3])], "written")
    equal(vector_reply(b, "fw_verify"), [(fr.NAK, VECTORS["nak_bad_hash"][3])], "BAD_HASH")
    # A firmware on trial that nobody confirms: rolled back, as FW_STATE then says.
    b = Board()
    for name in ("fw_begin", "fw_file_version", "fw_data_version", "fw_verify", "fw_commit"):
        vector_reply(b, name)
    check(restarted(b.run_ms, 400), "restart after the commit")
    b = Board(fresh=False, trial_ms=1000)
    check(restarted(b.run_ms, 1500), "restart when the trial ran out")
    b = Board(fresh=False)
    equal(vector_reply(b, "fw_state"), [(fr.ACK, VECTORS["ack_fw_state_rolled_back"][3])], "rolled back")
    equal(vector_reply(b, "fw_rollback"), [(fr.NAK, b"\x17\x06")], "no second step back")


def test_random_update_frames_never_break_the_loop():
    b = Board()
    seed = [2024]

    def rand():
        seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return seed[0] >> 8

    for i in range(600):
        ftype = fr.FW_BEGIN + rand() % 8
        payload = bytes(rand() & 0xFF for _ in range(rand() % 65))
        if i % 10 == 0:  # now and then a well-formed file, so that random chunks reach the flash
            ftype, payload = fr.FW_FILE, u32(rand() % 2000 + 1) + bytes(32) + b"app.py"
        elif ftype == fr.FW_DATA and i % 3 == 0:
            payload = u32(0) + payload[4:]
        b.board.uart.put(fr.encode(ftype, i & 0xFF, payload))
        b.run_ms(10)
        b.board.uart.take()
    equal(b.app.errors, 0, "handler errors")
    equal(flash_state(), "old", "random frames changed the firmware")
    equal(b.state()[:2], (False, False), "nothing on trial, no backup")


run([test_document_vectors_through_the_loop, test_random_update_frames_never_break_the_loop,
     test_good_update_then_confirm, test_corrupted_file_refused_old_firmware_stays,
     test_chunks_at_the_wrong_place_and_repeats, test_bad_names_and_order_refused,
     test_power_cut_at_every_step_of_the_commit, test_unconfirmed_firmware_rolls_back_after_its_boots,
     test_unconfirmed_firmware_rolls_back_after_its_time, test_crash_on_trial_rolls_back_at_once,
     test_rollback_on_request_and_cut_power_during_it, test_update_frames_allocate_nothing_between_them])
