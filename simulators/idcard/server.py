"""The simulated reader on a link: reads host commands, answers through ``ReaderDevice`` and sends the reply
paced at the current baud rate, with the switchable faults of hardware doc §11 applied on the way out."""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable

from simulators.idcard import wire
from simulators.idcard.cards import CardImage
from simulators.idcard.device import ReaderDevice
from simulators.link import Link, LinkClosed, Pacer

# Reply faults; each may be limited to one command class with KIND:TARGET (e.g. badsum:read).
FAULT_KINDS = ("noise", "fragment", "badsum", "truncate", "silence", "late", "duplicate", "sam-error",
               "sam-unauth", "sam-dead", "apdu-status")
TARGETS = ("any", "find", "select", "read", "other")
# A host frame left incomplete this long is dropped (the reader's UART frame timeout, guessed).
FRAME_IDLE_TIMEOUT = 0.2
# "late": the reply comes just after the deadlines open drivers use (1 s find/select, 3 s read), in real
# seconds whatever the time scale, because host deadlines are not scaled.
LATE_BY = {"read": 3.2}
LATE_DEFAULT = 1.2


def parse_fault(spec: str) -> tuple[str, str]:
    """``KIND`` or ``KIND:TARGET`` → (kind, target); raises ValueError for an unknown kind or target."""
    kind, _, target = spec.partition(":")
    target = target or "any"
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
    if target not in TARGETS:
        raise ValueError(f"unknown fault target {target!r}; choose from {', '.join(TARGETS)}")
    return kind, target


class ReaderSimulator:
    """Serves one ``ReaderDevice`` on ``link`` from a thread. ``reply_at_new_baud`` chooses whether the
    answer to set-baud goes out at the new rate or the old one (undocumented, §11.7)."""

    def __init__(self, cards: list[CardImage], link: Link, *, baud: int = 115200, time_scale: float = 1.0,
                 faults: Iterable[str] = (), seed: int | None = None, reply_at_new_baud: bool = False,
                 on_event: Callable[[dict], None] | None = None) -> None:
        self.device = ReaderDevice(cards)
        self.link = link
        self.baud = baud
        self.time_scale = time_scale
        self.reply_at_new_baud = reply_at_new_baud
        self.on_event = on_event or (lambda event: None)
        self._rng = random.Random(seed)
        self._seed = seed
        self._lock = threading.Lock()  # device state is changed by stdin commands and the serving thread
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.faults: dict[str, str] = {}
        self._stale = b""
        for spec in faults:
            self.set_fault(spec)
        self.bytes_in = 0
        self.bytes_out = 0

    # -- control (any thread) ------------------------------------------------------------------------------
    def set_fault(self, spec: str) -> None:
        """Switch a fault on; ``sam-error``/``sam-unauth`` put the SAM into a fault state until a reset,
        ``sam-dead`` into one that a reset does not clear."""
        kind, target = parse_fault(spec)
        with self._lock:
            if kind == "sam-error":
                self.device.sam_fault = wire.SW_SAM_SELF_TEST
            elif kind == "sam-unauth":
                self.device.sam_fault = wire.SW_SAM_NOT_AUTHORISED
            elif kind == "sam-dead":
                self.device.sam_dead = True
            elif kind == "apdu-status":
                self.device.apdu_status = True
            else:
                self.faults[kind] = target

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self.device.sam_fault = None
            self.device.sam_dead = False
            self.device.apdu_status = False

    def present(self, index: int) -> None:
        with self._lock:
            self.device.present(index)
        self.on_event({"event": "present", "index": index})

    def remove(self) -> None:
        with self._lock:
            self.device.remove()
        self.on_event({"event": "removed"})

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> ReaderSimulator:
        self._thread = threading.Thread(target=self.serve, name="idcard-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def serve(self) -> None:
        """Answer commands until ``stop``; a host that goes away is simply waited for again."""
        splitter = wire.CommandSplitter()
        last_byte = time.monotonic()
        while not self._stop.is_set():
            try:
                data = self.link.read(4096, 0.05)
            except LinkClosed:
                splitter.expire()
                if self._stop.wait(0.05):
                    break
                continue
            now = time.monotonic()
            if not data:
                if splitter.partial and now - last_byte > FRAME_IDLE_TIMEOUT:
                    splitter.expire()
                continue
            last_byte = now
            self.bytes_in += len(data)
            for incoming in splitter.push(data):
                self._answer(incoming, now)

    # -- one reply -----------------------------------------------------------------------------------------
    def _byte_time(self) -> float:
        return 10.0 / self.baud / self.time_scale if self.time_scale > 0 else 0.0

    def _active(self, kind: str, target: str) -> bool:
        wanted = self.faults.get(kind)
        return wanted is not None and wanted in ("any", target)

    def _answer(self, incoming: wire.Incoming, arrived: float) -> None:
        # The command itself takes wire time to arrive at a real reader: answer only after its last byte.
        delay = arrived + incoming.wire_size * self._byte_time() - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            was_reads = self.device.reads
            outcome = self.device.handle(incoming)
            frame = outcome.frame
            if self._active("silence", outcome.target):
                return
            if self._active("badsum", outcome.target):
                frame = frame[:-1] + bytes((frame[-1] ^ 0x5A,))
            if self._active("truncate", outcome.target):
                frame = frame[:max(8, len(frame) // 2)]
            if self._active("noise", outcome.target):
                frame = self._noise() + frame
            # "duplicate": the reply is sent again just before the next one, after the host has moved on,
            # so the copy can only be told apart by not fitting the command it arrives for.
            stale, self._stale = self._stale, frame if self._active("duplicate", outcome.target) else b""
            frame = stale + frame
            fragment = 7 if self._active("fragment", outcome.target) else 0
            late = LATE_BY.get(outcome.target, LATE_DEFAULT) if self._active("late", outcome.target) else 0.0
        if late and self._stop.wait(late):
            return
        if outcome.new_baud and self.reply_at_new_baud:
            self._switch_baud(outcome.new_baud)
        try:
            Pacer(self.link, self.baud, self.time_scale, fragment, self._rng.randrange(1 << 30)).write(frame)
            self.bytes_out += len(frame)
        except LinkClosed:
            pass  # the host went away mid-reply; the next one starts clean
        if outcome.new_baud and not self.reply_at_new_baud:
            self._switch_baud(outcome.new_baud)
        if self.device.reads != was_reads:
            self.on_event({"event": "read", "index": self.device.card})

    def _switch_baud(self, baud: int) -> None:
        self.baud = baud
        self.on_event({"event": "baud", "baud": baud})

    def _noise(self) -> bytes:
        """Line noise before a reply: random bytes, a partial preamble, a run of AA and, last, a stray
        header-only frame whose short Len makes a length-driven parser fail its checksum on the real
        preamble that follows and resynchronise. Random bytes avoid AA 96 69 so that the pieces never
        join into a whole preamble with a random length."""
        plain = [b for b in range(256) if b not in wire.SYNC]
        pieces = [bytes(self._rng.choice(plain) for _ in range(self._rng.randint(1, 12))),
                  wire.SYNC[:self._rng.randint(1, 4)],
                  b"\xAA" * self._rng.randint(1, 3)]
        self._rng.shuffle(pieces)
        return b"".join(pieces) + wire.SYNC + b"\x00\x04\x00\x00"
