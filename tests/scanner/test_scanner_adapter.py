"""The kiosk's side of the scanner: ``ScannerAdapter`` reads the driver's decoded scans off a real pty and
classifies them with edge_sync's query code (contract §10) into the kiosk's ``ScanEvent``; the villager's
message for each rejection cause."""
from __future__ import annotations

import queue
import threading

import pytest

from drivers.scanner import make_scan
from edge_sync.querycode import RejectCause, ScanKind, check_symbol, code_from_value, receipt_url
from kiosk.adapters import ScannerAdapter, scan_event
from kiosk.ports import ScanEvent
from kiosk.services.scan_reasons import reason_for
from simulators.link import open_link

pytestmark = pytest.mark.timeout(60)

CODE = code_from_value(0x0BAD_C0DE_0123_4567_89AB)
WRONG_CHECK = CODE[:16] + next(c for c in "0123456789" if c != check_symbol(CODE[:16]))


def test_the_adapter_turns_scans_into_the_kiosks_events():
    events: queue.Queue[ScanEvent] = queue.Queue()
    online = threading.Event()
    link = open_link("pty")
    adapter = ScannerAdapter(link.port)
    try:
        adapter.start(events.put, lambda up: online.set() if up else None)
        assert online.wait(10), "the adapter's watcher never opened the pty"  # opening flushes earlier bytes
        link.write_raw(receipt_url(CODE).encode() + b"\r\n" + WRONG_CHECK.encode() + b"\r\n"
                       + f"{CODE} 受理通知书".encode("gb18030") + b"\r\n")
        notice, bad, gbk = (events.get(timeout=10) for _ in range(3))
    finally:
        adapter.stop()
        link.close()
    assert (notice.kind, notice.code, notice.cause) == (ScanKind.RECEIPT_CODE, CODE, None)
    assert notice.text == receipt_url(CODE)
    assert (bad.kind, bad.code, bad.cause) == (ScanKind.OTHER, None, RejectCause.BAD_CHECK)
    assert "查询码有误" in reason_for(bad.cause)
    # Not UTF-8: the driver's GB18030 reading of the bytes, never a code even with one inside.
    assert (gbk.kind, gbk.code, gbk.cause, gbk.text) == (ScanKind.OTHER, None, RejectCause.NOT_A_CODE,
                                                         f"{CODE} 受理通知书")
    assert CODE not in repr(notice) and CODE not in repr(gbk)


def test_only_utf8_text_can_be_a_code():
    bare = make_scan(CODE.encode())
    assert scan_event(bare).code == CODE
    hex_view = make_scan(b"\xff" + CODE.encode())  # invalid in both UTF-8 and GB18030: a hex view
    assert hex_view.encoding.value == "hex" and scan_event(hex_view).cause is RejectCause.NOT_A_CODE


@pytest.mark.parametrize("cause", list(RejectCause))
def test_every_rejection_cause_has_a_chinese_message(cause):
    reason = reason_for(cause)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reason) and "二维码" in reason


def test_a_foreign_qr_and_a_bad_check_are_told_apart():
    assert reason_for(RejectCause.FOREIGN_URL) != reason_for(RejectCause.BAD_CHECK) != reason_for(None)
    assert "不能用来查询办件" in reason_for(RejectCause.FOREIGN_URL)
