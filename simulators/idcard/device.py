"""The simulated SAM reader's behaviour (hardware doc §11), without any I/O: card in the field, the
find → select → read sequence, SAM faults until reset, baud changes.

Card life in the field: a card that arrives is *new*; find answers 9F and wakes it; select answers 90 with
its serial number; read sends text and photo and halts it. A halted card still answers select (90) but not
find (80) until it leaves the field and comes back. A card that has left answers select with 81 and read
with 41; a new card that was never found also answers select with 81.
"""
from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass

from simulators.idcard import wire
from simulators.idcard.cards import CardImage

BAUD_BY_CODE = {0x00: 115200, 0x01: 57600, 0x02: 38400, 0x03: 19200, 0x04: 9600}
# The card's ISO 7816 status a real reader may leave in SW1 SW2 on failures (§11.8).
APDU_FAILURE = (0x6A, 0x82)


@dataclass(frozen=True)
class Outcome:
    """A reply frame, the command class for fault targeting, and a baud rate to switch to (set-baud)."""

    frame: bytes
    target: str  # find, select, read, other
    new_baud: int | None = None


class ReaderDevice:
    def __init__(self, cards: list[CardImage], sam_id: bytes = b"") -> None:
        self.cards = cards
        self.sam_id = sam_id or bytes((0x05, 0, 0x01, 0)) + struct.pack("<III", 20260101, 1234567, 89)
        self.card: int | None = None  # index of the card in the field
        self.found = False
        self.selected = False
        self.halted = False
        self.sam_fault: int | None = None  # 60 or 66 until a reset
        self.sam_dead = False  # 60 to every command, reset included
        self.apdu_status = False
        self.reads = 0
        self.commands: Counter[str] = Counter()  # commands answered, by target (find, select, read, other)

    # -- the field -----------------------------------------------------------------------------------------
    def present(self, index: int) -> None:
        """Put card ``index`` in the field (a card already there leaves first). Raises IndexError."""
        if not 0 <= index < len(self.cards):
            raise IndexError(f"no identity {index}; the file has {len(self.cards)}")
        self.remove()
        self.card = index

    def remove(self) -> None:
        self.card = None
        self.found = self.selected = self.halted = False

    # -- commands ------------------------------------------------------------------------------------------
    def _fail(self, sw3: int) -> bytes:
        sw1, sw2 = APDU_FAILURE if self.apdu_status and sw3 in (0x31, 0x41, 0x47, 0x81) else (0, 0)
        return wire.reply_frame(sw3, b"", sw1, sw2)

    def handle(self, incoming: wire.Incoming) -> Outcome:
        if isinstance(incoming, wire.HostFrameError):
            return Outcome(wire.reply_frame(incoming.sw3), "other")
        cmd, para, data = incoming.cmd, incoming.para, incoming.data
        key = (cmd, para)
        target = {0x20: "find" if para == 0x01 else "select", 0x30: "read"}.get(cmd, "other")
        self.commands[target] += 1
        expected = 4 if key == (0x61, 0xFF) else 3
        known = key in _HANDLERS or (cmd == 0x60 and para in BAUD_BY_CODE)
        if not known:
            return Outcome(wire.reply_frame(wire.SW_BAD_COMMAND), target)
        if len(data) + 3 != expected:
            return Outcome(wire.reply_frame(wire.SW_HOST_LENGTH), target)
        if self.sam_dead:
            return Outcome(wire.reply_frame(wire.SW_SAM_SELF_TEST), target)
        if self.sam_fault is not None and key != (0x10, 0xFF):
            return Outcome(wire.reply_frame(self.sam_fault), target)
        if cmd == 0x60:
            return Outcome(wire.reply_frame(wire.SW_OK), target, BAUD_BY_CODE[para])
        return Outcome(_HANDLERS[key](self), target)

    def _reset(self) -> bytes:
        self.sam_fault = None
        return wire.reply_frame(wire.SW_OK)

    def _ok(self) -> bytes:
        return wire.reply_frame(wire.SW_OK)

    def _sam_id(self) -> bytes:
        return wire.reply_frame(wire.SW_OK, self.sam_id)

    def _find(self) -> bytes:
        if self.card is None or self.halted:
            return wire.reply_frame(wire.SW_NO_CARD)
        self.found = True
        return wire.reply_frame(wire.SW_FOUND, bytes(4))

    def _select(self) -> bytes:
        if self.card is None or not (self.found or self.halted):
            return self._fail(wire.SW_SELECT_FAILED)
        self.selected = True
        return wire.reply_frame(wire.SW_OK, bytes(8))

    def _read(self, fingerprint: bool) -> bytes:
        if self.card is None:
            return self._fail(wire.SW_READ_FAILED)
        if not self.selected:
            return wire.reply_frame(wire.SW_BAD_COMMAND)
        card = self.cards[self.card]
        payload = struct.pack(">HH", len(card.text), len(card.photo))
        if fingerprint:
            payload += struct.pack(">H", len(card.fingerprint))
        payload += card.text + card.photo + (card.fingerprint if fingerprint else b"")
        self.selected = False
        self.halted = True
        self.reads += 1
        return wire.reply_frame(wire.SW_OK, payload)

    def _appended(self) -> bytes:
        if self.card is None:
            return self._fail(wire.SW_READ_FAILED)
        if not (self.selected or self.halted):
            return wire.reply_frame(wire.SW_BAD_COMMAND)
        address = self.cards[self.card].appended_address
        return wire.reply_frame(wire.SW_OK, address) if address else wire.reply_frame(wire.SW_EMPTY)


_HANDLERS = {
    (0x10, 0xFF): ReaderDevice._reset,
    (0x11, 0xFF): ReaderDevice._ok,
    (0x12, 0xFF): ReaderDevice._sam_id,
    (0x20, 0x01): ReaderDevice._find,
    (0x20, 0x02): ReaderDevice._select,
    (0x30, 0x01): lambda device: device._read(False),
    (0x30, 0x10): lambda device: device._read(True),
    (0x30, 0x03): ReaderDevice._appended,
    (0x61, 0xFF): ReaderDevice._ok,
}
