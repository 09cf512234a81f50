"""A real scanner on a terminal: set KIOSK_SCANNER_URL (e.g. /dev/serial/by-id/…) and scan a notice's QR
within the time given (KIOSK_SCANNER_WAIT, default 20 s)."""
from __future__ import annotations

import os

import pytest

from drivers.scanner import Scanner
from edge_sync.querycode import ScanKind
from kiosk.adapters import scan_event

URL = os.environ.get("KIOSK_SCANNER_URL", "")

pytestmark = [pytest.mark.hardware,
              pytest.mark.skipif(not URL, reason="set KIOSK_SCANNER_URL to a real scanner's port")]


def test_real_scanner_reads_a_notice_qr():
    with Scanner(URL, baudrate=int(os.environ.get("KIOSK_SCANNER_BAUD", "9600"))) as scanner:
        scan = scanner.read_scan(float(os.environ.get("KIOSK_SCANNER_WAIT", "20")))
    assert scan is not None, "no scan: is the scanner in serial (not HID keyboard) mode?"
    event = scan_event(scan)  # as the kiosk reads it
    assert event.kind is ScanKind.RECEIPT_CODE, f"scanned something else ({event.cause})"
