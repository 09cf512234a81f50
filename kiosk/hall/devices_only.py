"""``kiosk hall --devices-only``: the simulators without the terminal, shown working through the real
drivers — a card read by ``drivers.idcard`` and a notice code scanned through ``drivers.scanner`` — then
watched live while a technician plays the devices from the control panel. Output is masked."""
from __future__ import annotations

import threading
from typing import Callable, Optional

from drivers.idcard import CardEvent, CardWatcher, IdCardError, IdCardReader, Identity
from drivers.masking import mask_id_number, mask_name
from drivers.scanner import Scan, Scanner, ScannerError, ScannerWatcher, mint_query_code, receipt_url
from kiosk.hall.control import HallControl

Say = Callable[[str], None]


def describe_identity(identity: Identity) -> str:
    """A masked one-line view of a card (never the full name, number or address)."""
    return f"{mask_name(identity.name)} {mask_id_number(identity.id_number)} ({identity.id_type})"


def describe_scan(scan: Scan) -> str:
    if scan.code:
        return f"receipt code {scan.code}"
    return f"not a receipt code ({scan.cause.value if scan.cause else 'other'})"


def demo_card_read(control: HallControl, say: Say, index: int = 0, timeout: float = 10.0) -> Optional[Identity]:
    """Presents sample card ``index`` and reads it with IdCardReader; the card is removed afterwards."""
    port = control.hall.port("idcard")
    if port is None:
        say("ID-card reader: no simulator running")
        return None
    try:
        with IdCardReader(port) as reader:
            control.present(index)
            identity = reader.read_card(timeout=timeout)
        say(f"ID-card reader {port}: read card {index + 1}: {describe_identity(identity)}")
        return identity
    except IdCardError as exc:
        say(f"ID-card reader {port}: read failed: {exc.code}")
        return None
    finally:
        control.remove_card()


def demo_scan(control: HallControl, say: Say, timeout: float = 10.0) -> Optional[Scan]:
    """Scans a fresh notice URL through the scanner simulator and reads it with Scanner."""
    port = control.hall.port("scanner")
    if port is None:
        say("scanner: no simulator running")
        return None
    code = mint_query_code()
    try:
        with Scanner(port) as scanner:
            control.scan(receipt_url(code))
            scan = scanner.read_scan(timeout=timeout)
    except ScannerError as exc:
        say(f"scanner {port}: {exc.code}")
        return None
    if scan is None:
        say(f"scanner {port}: nothing read within {timeout} s")
        return None
    verdict = "matches" if scan.code == code else "DOES NOT match"
    say(f"scanner {port}: {describe_scan(scan)} — {verdict} the code sent")
    return scan


class DeviceWatch:
    """While the hall runs without a terminal: the real drivers' watchers report what the technician
    plays on the panel (card present/removed, scans), masked, through ``say``."""

    def __init__(self, control: HallControl, say: Say) -> None:
        self.control, self.say = control, say
        self._lock = threading.Lock()
        self.cards: Optional[CardWatcher] = None
        self.scans: Optional[ScannerWatcher] = None

    def _card(self, event: CardEvent) -> None:
        detail = f": {describe_identity(event.identity)}" if event.identity is not None else ""
        with self._lock:
            self.say(f"[idcard] {event.kind.value}{detail}")

    def _scan(self, scan: Scan) -> None:
        with self._lock:
            self.say(f"[scanner] {describe_scan(scan)}")

    def start(self) -> "DeviceWatch":
        hall = self.control.hall
        if hall.port("idcard"):
            self.cards = CardWatcher(hall.port("idcard"), self._card).start()
        if hall.port("scanner"):
            self.scans = ScannerWatcher(hall.port("scanner"), self._scan).start()
        return self

    def stop(self) -> None:
        for watcher in (self.cards, self.scans):
            if watcher is not None:
                watcher.stop()
