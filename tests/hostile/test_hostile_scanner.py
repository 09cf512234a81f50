"""Hostile scanner payloads: the nasty-string corpus (other hosts' URLs, look-alike and userinfo hosts,
percent-encoding, IDN homoglyphs, control characters, injection strings, GBK/UTF-8 mixes, invalid UTF-8) and
generated texts, bytes and mutated receipt URLs — through the driver's ``make_scan`` and the kiosk's
``scan_event`` (edge_sync's ``classify``), and the real ``Scanner`` on a pty. Each is "other" with a cause and
a Chinese reason, never a receipt code, never an exception; a valid code after them still arrives."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner import BadPayload, PayloadTooLong, Scan, Scanner, ScannerWatcher, make_scan
from edge_sync.querycode import (
    ALPHABET,
    CHECK_ALPHABET,
    NOTICE_URL_PREFIX,
    RejectCause,
    ScanKind,
    check_symbol,
    classify,
    code_from_value,
    receipt_url,
)
from kiosk.adapters import scan_event
from kiosk.services.scan_reasons import reason_for
from simulators.link import open_link
from tests.hostile.bounded import count, within

pytestmark = pytest.mark.timeout(120)

CORPUS = Path(__file__).parent / "corpus" / "scanner-nasty.jsonl"
CODE = code_from_value(0x1234_5678_9ABC_DEF0_1357)
URL = receipt_url(CODE)


def corpus() -> list[bytes]:
    """Every corpus entry as the bytes a scanner would send ({CODE} replaced by a valid code)."""
    out = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        raw = bytes.fromhex(entry["hex"]) if isinstance(entry, dict) else entry.encode("utf-8", "surrogatepass")
        out.append(raw.replace(b"{CODE}", CODE.encode()))
    return out


NASTY = corpus()


def read_raw(raw: bytes):
    """The kiosk's event for one payload, through the driver's decoding: (driver scan, kiosk event)."""
    scan = within(2, make_scan, raw)
    return scan, within(2, scan_event, scan)


def assert_rejected(raw: bytes) -> None:
    scan, event = read_raw(raw)
    assert event.kind is ScanKind.OTHER and event.code is None, raw
    reason = reason_for(event.cause)
    assert event.cause is not None and any("\u4e00" <= ch <= "\u9fff" for ch in reason)
    assert "\x1b" not in scan.display and "\x00" not in scan.display and "\n" not in scan.display
    json.dumps(scan.to_dict())  # the technician's view is always serialisable
    assert CODE not in repr(scan) and CODE not in repr(event)


def test_the_corpus_is_big_and_the_valid_forms_are_accepted():
    assert len(NASTY) >= 150
    assert read_raw(URL.encode())[1].code == CODE
    assert read_raw(f"  {CODE[:4]}-{CODE[4:8]} {CODE[8:]}  ".lower().encode())[1].code == CODE


@pytest.mark.parametrize("raw", NASTY, ids=range(len(NASTY)))
def test_corpus_entry_is_other_with_a_reason(raw):
    count("scanner.corpus")
    assert_rejected(raw)


def test_wrong_check_symbols_are_bad_check():
    for value in (0, 1, 36, 2**80 - 1, 0x1234_5678_9ABC_DEF0_1357):
        body = code_from_value(value)[:16]
        for wrong in CHECK_ALPHABET.replace(check_symbol(body), ""):
            count("scanner.bad_check")
            for text in (body + wrong, NOTICE_URL_PREFIX + body + wrong):
                result = classify(text)
                assert result.kind is ScanKind.OTHER and result.cause is RejectCause.BAD_CHECK


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=5000))
def test_random_bytes_never_raise_and_only_exact_codes_pass(raw):
    count("scanner.random_bytes")
    _, event = read_raw(raw)
    if event.kind is ScanKind.RECEIPT_CODE:
        assert event.code is not None
        text = raw.decode("utf-8").strip(" ")
        assert text.upper().replace("-", "").replace(" ", "") == event.code or receipt_url(event.code) == \
            "https://zwfw.example.gov.cn/q/" + text.rsplit("/", 1)[-1].upper()


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300) | st.text(max_size=100000, alphabet=st.characters(max_codepoint=0x7F), min_size=97))
def test_random_text_never_raises(text):
    count("scanner.random_text")
    result = within(2, classify, text)
    assert (result.code is None) == (result.kind is ScanKind.OTHER)
    if result.kind is ScanKind.OTHER:
        assert result.cause is not None


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(URL)), st.integers(0, 2), st.characters(codec="utf-8"))
def test_mutated_receipt_url_is_never_someone_elses_code(pos, how, ch):
    """Insert, replace or delete one character of a valid receipt URL: the result is the same code (only
    where the contract tolerates the change) or "other" — never a different code."""
    count("scanner.mutated_url")
    if how == 0:
        text = URL[:pos] + ch + URL[pos:]
    elif how == 1:
        text = URL[:pos] + ch + URL[pos + 1:]
    else:
        text = URL[:pos] + URL[pos + 1:]
    result = within(2, classify, text)
    assert result.code in (None, CODE), text
    if result.code is not None:
        assert text.strip(" ").lower() == URL.lower()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 15), st.sampled_from(ALPHABET))
def test_one_wrong_symbol_in_a_bare_code_is_always_caught(pos, symbol):
    count("scanner.one_symbol")
    text = CODE[:pos] + symbol + CODE[pos + 1:]
    result = classify(text)
    assert result.code == (CODE if text == CODE else None)


def test_nasty_payloads_over_a_pty_are_each_other_and_nothing_is_lost():
    """The real driver on a pty: every corpus entry without CR or LF (those would be split by the scanner's
    line framing) as one line, then an over-long line, then the valid URL — which still arrives."""
    lines = [raw for raw in NASTY if raw and b"\r" not in raw and b"\n" not in raw]
    link = open_link("pty")
    try:
        with Scanner(link.port, idle_gap=0.3) as scanner:
            for line in lines:
                link.write_raw(line + b"\r\n")
            link.write_raw(b"\xAB" * 5000 + b"\r\n" + URL.encode() + b"\r\n")
            scans: list[Scan] = []
            too_long = 0
            while len(scans) < len(lines) + 1:
                try:
                    scan = within(10, scanner.read_scan, 5.0)
                except PayloadTooLong:
                    too_long += 1
                    continue
                assert scan is not None, f"only {len(scans)} of {len(lines) + 1} payloads arrived"
                scans.append(scan)
    finally:
        link.close()
    count("scanner.pty", len(lines) + 2)
    assert too_long == 1
    assert [s.raw for s in scans[:-1]] == lines
    events = [scan_event(s) for s in scans]  # as the kiosk reads them
    assert all(e.kind is ScanKind.OTHER and e.cause is not None for e in events[:-1])
    assert events[-1].kind is ScanKind.RECEIPT_CODE and events[-1].code == CODE


def test_watcher_keeps_delivering_after_hostile_bursts():
    """The reconnecting watcher thread: broken payloads go to ``on_error``, every nasty line to ``on_scan`` as
    "other", and the valid code sent last is delivered — the thread survives all of it."""
    scans: list[Scan] = []
    errors: list[BadPayload] = []
    done = threading.Event()

    def on_scan(scan):
        scans.append(scan)
        if scan.text == URL:
            done.set()

    lines = [raw for raw in NASTY[:60] if raw and b"\r" not in raw and b"\n" not in raw]
    link = open_link("pty")
    watcher = ScannerWatcher(link.port, on_scan, on_error=errors.append, dedup_window=0, idle_gap=0.2)
    try:
        watcher.start()
        deadline = time.monotonic() + 10
        while watcher.state is None and time.monotonic() < deadline:
            time.sleep(0.02)
        link.write_raw(b"\x00" * 4000 + b"\r\n" + b"".join(line + b"\r\n" for line in lines) + b"half a line")
        time.sleep(0.5)  # silence: the half line is given up as truncated
        link.write_raw(URL.encode() + b"\r\n")
        assert done.wait(10), f"valid code not delivered ({len(scans)} scans, {len(errors)} errors)"
    finally:
        watcher.stop()
        link.close()
    count("scanner.watcher", len(lines) + 3)
    assert [type(e).__name__ for e in errors] == ["PayloadTooLong", "PayloadTruncated"]
    assert [s.raw for s in scans[:-1]] == lines
    assert all(scan_event(s).kind is ScanKind.OTHER for s in scans[:-1]) and scan_event(scans[-1]).code == CODE
