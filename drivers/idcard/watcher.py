"""``CardWatcher``: a thread that polls the reader and reports a card arriving or leaving, and the reader
going away or coming back (it reopens the same URL, e.g. a ``/dev/serial/by-id`` link, until it answers).

Removal detection: after a read the card is halted, so find answers 80 although the card is still there.
While a card is present the watcher therefore polls with *select*: a card in the field (halted or not)
answers 90, and select answers 81 once it has gone. A new card that arrived between two polls was never
found, so its select also answers 81: the watcher reports the old card removed and then finds the new one.

Pace: every poll wakes the host twice (the reply, then the pause), so a terminal nobody uses polls at
``rest_interval`` and, once ``attend(True)`` says someone is there, at ``poll_interval``; the switch to
the quick pace ends the pause in progress, so the next poll follows at once.
"""
from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from drivers.idcard.errors import CardRemoved, IdCardError, LinkLost, NoCard, SamFault
from drivers.idcard.identity import Identity
from drivers.idcard.reader import IdCardReader

log = logging.getLogger("drivers.idcard")


class CardEventKind(str, enum.Enum):
    """What happened. A str enum, so ``event.kind == "card_present"`` works."""

    CARD_PRESENT = "card_present"
    CARD_REMOVED = "card_removed"
    READER_LOST = "reader_lost"
    READER_BACK = "reader_back"
    READ_FAILED = "read_failed"  # a card is in the field but could not be read (error in ``error``)


@dataclass(frozen=True)
class CardEvent:
    kind: CardEventKind
    identity: Identity | None = None
    error: IdCardError | None = None


class _Card(enum.Enum):
    NONE = "none"
    PRESENT = "present"  # read and reported
    HELD = "held"  # in the field but unreadable; reported as read_failed


class CardWatcher:
    """Polls ``url`` every ``poll_interval`` seconds (``rest_interval`` while not attended, see ``attend``;
    by default the same) and calls ``on_event(CardEvent)`` from its own thread.

    A card that cannot be read is retried ``read_retries`` times, then reported once as ``read_failed``.
    ``max_failures`` consecutive bad exchanges (no reply, garbage) count as the reader being lost."""

    def __init__(self, url: str, on_event: Callable[[CardEvent], None], poll_interval: float = 0.5, *,
                 baudrate: int = 115200, reconnect_interval: float = 1.0, read_retries: int = 1,
                 max_failures: int = 3, reader_options: dict | None = None,
                 rest_interval: float | None = None, attended: bool = False) -> None:
        self.url = url
        self.on_event = on_event
        self.poll_interval = poll_interval
        self.rest_interval = poll_interval if rest_interval is None else rest_interval
        self._attended = attended
        self.baudrate = baudrate
        self.reconnect_interval = reconnect_interval
        self.read_retries = read_retries
        self.max_failures = max_failures
        self.reader_options = dict(reader_options or {})
        self._stop = threading.Event()
        self._wake = threading.Event()  # ends a pause early: stop, or attend(True)
        self._thread: threading.Thread | None = None
        self._reader: IdCardReader | None = None
        self._card = _Card.NONE
        self._lost = False
        self._failures = 0
        self._sam_resets = 0

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> CardWatcher:
        if self._thread is not None:
            raise RuntimeError("CardWatcher already started")
        self._thread = threading.Thread(target=self._run, name="idcard-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling and close the port. Waits for an exchange in progress (at most a read timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def attend(self, attended: bool) -> None:
        """Someone is at the terminal (True: poll every ``poll_interval``, starting now) or nobody is
        (False: every ``rest_interval`` from the next pause on). Callable from any thread."""
        was, self._attended = self._attended, attended
        if attended and not was:
            self._wake.set()

    @property
    def attended(self) -> bool:
        return self._attended

    @property
    def interval(self) -> float:
        """The pause between two polls at the current pace."""
        return self.poll_interval if self._attended else self.rest_interval

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def reader_lost(self) -> bool:
        return self._lost

    # -- events ---------------------------------------------------------------------------------------------
    def _emit(self, kind: CardEventKind, identity: Identity | None = None,
              error: IdCardError | None = None) -> None:
        if self._stop.is_set():
            return
        try:
            self.on_event(CardEvent(kind, identity, error))
        except Exception:  # a faulty listener must not stop card polling
            log.exception("idcard event listener failed on %s", kind.value)

    def _mark_lost(self, error: IdCardError) -> None:
        if self._card is _Card.PRESENT:
            self._emit(CardEventKind.CARD_REMOVED)
        self._card = _Card.NONE
        self._close_reader()
        if not self._lost:
            self._lost = True
            log.warning("ID-card reader lost (%s)", error.code)
            self._emit(CardEventKind.READER_LOST, error=error)

    def _mark_alive(self) -> None:
        self._failures = 0
        self._sam_resets = 0
        if self._lost:
            self._lost = False
            log.info("ID-card reader back")
            self._emit(CardEventKind.READER_BACK)

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- loop -----------------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                pause = self._cycle()
                if pause > 0 and not self._stop.is_set():
                    self._wake.wait(pause)
                    self._wake.clear()
        finally:
            self._close_reader()

    def _cycle(self) -> float:
        """One poll; returns how long to wait before the next."""
        if self._reader is None:
            reader = IdCardReader(self.url, self.baudrate, **self.reader_options)
            try:
                reader.open()
            except LinkLost as exc:
                self._mark_lost(exc)
                return self.reconnect_interval
            self._reader = reader
        try:
            again = self._poll(self._reader)
        except LinkLost as exc:
            if not self._reader.is_open:  # the port itself failed: gone at once
                self._mark_lost(exc)
                return self.reconnect_interval
            return self._failed(exc)
        except SamFault as exc:
            return self._recover_sam(exc)
        except IdCardError as exc:
            return self._failed(exc)
        self._mark_alive()
        return 0.0 if again else self.interval

    def _failed(self, exc: IdCardError) -> float:
        """A poll without a usable answer (silence, noise, bad frame): tolerated a few times in a row before
        the reader counts as lost, so that one corrupted reply does not flap the reader's state."""
        self._failures += 1
        log.debug("ID-card poll failed (%s), %d in a row", exc.code, self._failures)
        if self._failures >= self.max_failures:
            self._mark_lost(exc)
            return self.reconnect_interval
        return self.interval

    def _recover_sam(self, fault: SamFault) -> float:
        """Reset the SAM once; a fault that survives the reset makes the reader lost (retried every
        ``reconnect_interval``) instead of a tight reset loop."""
        assert self._reader is not None
        self._sam_resets += 1
        if self._sam_resets > 1:
            self._sam_resets = 0
            self._mark_lost(fault)
            return self.reconnect_interval
        try:
            self._reader.reset_sam()
            log.info("ID-card SAM reset after %s", fault.code)
            return 0.0
        except IdCardError as exc:
            self._mark_lost(exc if isinstance(exc, SamFault) else fault)
            return self.reconnect_interval

    def _poll(self, reader: IdCardReader) -> bool:
        """Advance the card state by one step; True when the next step should follow at once."""
        if self._card is not _Card.NONE:
            present = reader.card_still_present()
            self._mark_alive()
            if present:
                return False
            if self._card is _Card.PRESENT:
                self._emit(CardEventKind.CARD_REMOVED)
            self._card = _Card.NONE
            return True  # a new card may already be waiting
        try:
            reader.find_card()
        except NoCard:
            self._mark_alive()
            return False
        self._mark_alive()  # reader_back before the card it found
        return self._read_found(reader)

    def _read_found(self, reader: IdCardReader) -> bool:
        last: IdCardError | None = None
        for _ in range(1 + self.read_retries):
            try:
                reader.select_card()
                identity = reader.read_selected()
            except CardRemoved:
                return False  # left mid-sequence: nothing was reported, nothing to undo
            except (LinkLost, SamFault):
                raise
            except IdCardError as exc:
                last = exc
                continue
            self._card = _Card.PRESENT
            self._emit(CardEventKind.CARD_PRESENT, identity=identity)
            return False
        assert last is not None
        log.warning("ID card in the field could not be read (%s)", last.code)
        self._card = _Card.HELD
        self._emit(CardEventKind.READ_FAILED, error=last)
        return False
