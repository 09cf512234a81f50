"""Hostile printer input: random and mutated ESC/POS streams into the simulator's interpreter (never
crashes, says what it did not understand), random bytes into the driver's status decoder and into
``Printer.status()`` over a pty, and receipts built from hostile plain data (huge strings, control
characters, 4-byte characters, empty fields) — a valid Document whose job the simulator prints without a
single warning (no command injected by the data), or a clear ValueError/RenderError."""
from __future__ import annotations

import dataclasses
import itertools
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.masking import mask_name
from drivers.printer import GENERIC_58, GENERIC_80, PrinterError, PrinterStatus, RenderError, render
from drivers.printer.printer import Printer
from drivers.printer.status import Asb, StatusFormatError, StatusStream
from kiosk.receipts import (
    ChecklistData,
    FeeData,
    MaterialData,
    SituationData,
    TicketData,
    acceptance_notice,
    checklist_slip,
    queue_ticket,
)
from kiosk.services.notice import Notice, NoticeCase, NoticeStage, PickupPlace
from simulators.link import LinkClosed, open_link
from simulators.printer.interpreter import Interpreter
from tests.hostile.bounded import count, within

pytestmark = pytest.mark.timeout(120)

CODE = "7KQ2M9XDPA4TH6WRP"
CASE = NoticeCase(item_code="511900-XK-0003", item_name="个体工商户设立登记", situation_name="个体工商户设立登记",
                  authority="示例市市场监督管理局", query_code=CODE, case_no="SP-2026-0001", stage=NoticeStage.ACCEPTED,
                  promised_days=1, promised_by="2026-12-01", originals=("经营场所使用证明",),
                  pickup=PickupPlace("window", "个体工商户登记窗口 2楼 17号窗口"))
NOTICE = Notice(cases=(CASE,), applicant_masked=mask_name("张三"), site_name="示例县政务服务中心", hotline="12345",
                submitted_at="2026-11-24 10:00", channel="self")
JOB = render(acceptance_notice(NOTICE), GENERIC_80)


def notice(case: dict | None = None, **fields) -> Notice:
    """NOTICE with some of its texts (and of its case's) replaced."""
    return dataclasses.replace(NOTICE, cases=(dataclasses.replace(CASE, **(case or {})),), **fields)
HOSTILE_CHARS = "\x00\x1b\x1d\x1c\x10\x04\x0c\r\n\t\x7f\x85\u202e\u200b\ufeff𠀀𪚥😀é\u0301張三 AZaz09@!<>'\"&;|$`"
hostile_text = st.text(alphabet=st.sampled_from(HOSTILE_CHARS) | st.characters(), max_size=120)


def interpret(stream: bytes, cuts: list[int], dots: int = 576) -> Interpreter:
    sim = Interpreter(dots=dots, buffer_bytes=0)
    bounds = [0] + sorted({c for c in cuts if 0 < c < len(stream)}) + [len(stream)]
    for a, b in itertools.pairwise(bounds):
        sim.feed(stream[a:b])
    sim.finish_job(silence=True)
    return sim


def warnings_of(sim: Interpreter) -> list[str]:
    return [w for job in sim.completed for w in job.warnings] + list(sim.job.warnings)


# -- the simulator's interpreter -------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8))
def test_interpreter_survives_random_bytes(stream, cuts):
    count("printer.sim.random")
    within(10, interpret, stream, cuts)


@st.composite
def mutated_job(draw):
    job = bytearray(JOB)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "command"]))
        pos = draw(st.integers(0, len(job)))
        if how == "flip" and pos < len(job):
            job[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate":
            del job[pos:]
        elif how == "insert":
            job[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif how == "delete":
            del job[pos:pos + draw(st.integers(1, 64))]
        else:  # a command prefix with absurd parameters: huge raster, huge QR store, bad FS/ESC bytes
            job[pos:pos] = draw(st.sampled_from([
                b"\x1dv0\x00\xff\xff\xff\xff", b"\x1dv0\x00\x01\x00\xff\x7f", b"\x1d(k\xff\xff1P0",
                b"\x1d(k\x03\x001C\xff", b"\x1b*\x21\xff\xff", b"\x1c2\xfe\xa1", b"\x1b\xff", b"\x1d\xff",
                b"\x1c\xff", b"\x1b!\xff", b"\x1d!\xff", b"\x1dV\x42\xff", b"\x1b-\x07", b"\x1dk\x49\xff",
                b"\x10\x14\x01\x00\x00", b"\x10\x05\x02", b"\x1ba\x09", b"\x1bt\xff"]))
    return bytes(job)


@settings(max_examples=150, deadline=None)
@given(mutated_job(), st.lists(st.integers(0, len(JOB)), max_size=6))
def test_interpreter_survives_mutated_jobs(stream, cuts):
    count("printer.sim.mutated")
    within(20, interpret, stream, cuts)


def test_interpreter_reports_what_it_did_not_understand_and_prints_the_next_job():
    """Nothing lost: unknown commands are warnings and the valid job after them still prints whole."""
    count("printer.sim.recovery")
    sim = within(20, interpret, b"\x1b\xff\x1d\xff\x1c\xff\x10\x7f" + JOB, [3, 9, 100])
    assert sum("unknown" in w for w in warnings_of(sim)) >= 3
    text = " ".join(line for job in sim.completed for line in job.text)
    assert "受理通知书" in text and "7KQ2-M9XD-PA4T-H6WR-P" in text


# -- the driver's status decoder --------------------------------------------------------------------------

@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=6))
def test_status_stream_classifies_any_bytes(data, cuts):
    count("printer.status.random")
    stream = StatusStream()
    bounds = [0] + sorted({c for c in cuts if 0 < c < len(data)}) + [len(data)]
    events = [e for a, b in itertools.pairwise(bounds) for e in stream.feed(data[a:b])]
    assert len(events) <= len(data)
    for event in events:
        if isinstance(event, Asb):
            assert isinstance(event.decode(), PrinterStatus)  # the stream only frames ASBs with valid bits


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=4, max_size=4))
def test_asb_decode_is_a_status_or_a_format_error(raw):
    count("printer.status.asb")
    try:
        assert isinstance(Asb(raw).decode(), PrinterStatus)
    except StatusFormatError:
        pass


class StatusPeer:
    """The printer end of a pty that answers every DLE EOT with the next bytes of a hostile script."""

    def __init__(self, answers: bytes) -> None:
        self.link = open_link("pty")
        self.answers = answers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-printer-peer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pos = 0
        while not self._stop.is_set():
            try:
                data = self.link.read(64, 0.05)
            except LinkClosed:
                continue
            for _ in range(data.count(b"\x10\x04")):
                chunk, pos = self.answers[pos:pos + 3], pos + 3
                if chunk:
                    self.link.write_raw(chunk)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.link.close()


@settings(max_examples=10, deadline=None)
@given(st.binary(max_size=12))
def test_printer_status_over_a_pty_with_hostile_replies(answers):
    count("printer.status.pty")
    peer = StatusPeer(answers)
    try:
        with Printer(peer.link.port, GENERIC_80, reply_timeout=0.2) as printer:
            try:
                status = within(10, printer.status, 2.0)
            except PrinterError:
                return
            assert isinstance(status, PrinterStatus)
    finally:
        peer.close()


# -- receipts from hostile plain data ---------------------------------------------------------------------

def render_and_print(doc, profile=GENERIC_80) -> Interpreter:
    data = render(doc, profile)
    sim = interpret(data, [], dots=profile.dots)
    assert warnings_of(sim) == [], warnings_of(sim)[:3]  # the data injected no command
    return sim


CASE_TEXTS = ("item_name", "situation_name", "authority", "case_no", "promised_by")
NOTICE_TEXTS = ("site_name", "hotline", "submitted_at", "agent_masked", "bundle_name")


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: hostile_text for k in (*CASE_TEXTS, *NOTICE_TEXTS, "applicant",
                                                                      "place", "original")}),
       st.sampled_from(list(NoticeStage)), st.sampled_from([GENERIC_58, GENERIC_80]))
def test_acceptance_notice_from_hostile_strings(fields, stage, profile):
    count("printer.receipts.notice")
    case = {k: v for k, v in fields.items() if k in CASE_TEXTS}
    case.update(stage=stage, originals=(fields.get("original", ""),),
                pickup=PickupPlace("mail", fields.get("place", "")))
    doc = within(20, acceptance_notice, notice(case, applicant_masked=mask_name(fields.get("applicant", "")),
                                               **{k: v for k, v in fields.items() if k in NOTICE_TEXTS}))
    sim = within(60, render_and_print, doc, profile)
    assert any("7KQ2-M9XD-PA4T-H6WR-P" in line for job in sim.completed for line in job.text)
    if fields.get("applicant", "").isdigit() and len(fields["applicant"]) >= 12:
        assert fields["applicant"] not in " ".join(doc.texts())  # the service masks it before the notice


@settings(max_examples=25, deadline=None)
@given(hostile_text, st.lists(st.tuples(hostile_text, hostile_text, st.lists(st.tuples(
    hostile_text, hostile_text, hostile_text), max_size=3)), max_size=3), hostile_text)
def test_checklist_and_ticket_from_hostile_strings(name, situations, extra):
    count("printer.receipts.checklist")
    slip = ChecklistData(item_name=name, situations=tuple(
        SituationData(s_name, conditions, tuple(MaterialData(m_name, form=form, note=note)
                                                for m_name, note, form in materials))
        for s_name, conditions, materials in situations), department=extra, online_level=extra, hotline=extra,
        fees=(FeeData(extra, None, extra),), legal_basis=(extra,), intermediaries=(extra,), targets=(extra, name),
        place=extra, village_points=(extra,))
    doc = within(20, checklist_slip, slip)
    within(60, render_and_print, doc)
    ticket = within(20, queue_ticket, TicketData(number=extra or "A001", category_name=name, window_hint=extra,
                                                 site_name=extra, issued_at=extra))
    within(60, render_and_print, ticket)


@pytest.mark.parametrize("query_code", ["", "x" * 10000, CODE.lower() + "\x00", "https://evil/q/" + CODE,
                                        CODE[:-1] + "0"])
def test_bad_query_code_on_a_notice_is_a_clear_value_error(query_code):
    count("printer.receipts.bad_code")
    with pytest.raises(ValueError, match="query code"):
        acceptance_notice(notice({"query_code": query_code}))


@pytest.mark.parametrize("size", [2000, 8000])
def test_huge_fields_make_a_long_but_valid_job(size):
    count("printer.receipts.huge")
    doc = within(30, acceptance_notice, notice({"item_name": "办" * size, "pickup": PickupPlace("window", "A" * size)},
                                                site_name="\x1b@" * (size // 2)))
    sim = within(90, render_and_print, doc)
    assert len(sim.completed) == 1


def test_four_byte_and_rare_characters_fall_back_without_warnings():
    count("printer.receipts.rare")
    doc = acceptance_notice(notice({"item_name": "𠀀" * 40 + "😀" * 10}, applicant_masked=mask_name("𠀀𪚥䶮")))
    for profile in (GENERIC_58, GENERIC_80, GENERIC_80.with_changes(native_qr=False)):
        try:
            within(60, render_and_print, doc, profile)
        except RenderError as exc:  # a clear refusal is allowed; a crash is not
            assert str(exc)


@pytest.mark.parametrize("ch", ["\r", "\n", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_line_breaking_characters_in_fields_print(ch):
    """Regression: these made the glyph fallback raise RuntimeError/ValueError from the font layout and
    failed the whole print job (fixed in drivers/printer/layout.py ``glyph_image``)."""
    count("printer.receipts.line_breaks")
    doc = checklist_slip(ChecklistData(item_name=f"事项{ch}名称", situations=(), hotline=ch, department=f"a{ch}"))
    for profile in (GENERIC_58, GENERIC_80):
        render_and_print(doc, profile)
    render_and_print(queue_ticket(TicketData(number="A001", category_name=ch * 3)))
