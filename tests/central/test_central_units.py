"""Pure parts of the central simulator: query-code check symbol, working days, lights, statuses, masking,
signing and the catalog publication."""
from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.central.catalog import Catalog, ItemRule, build_publication
from simulators.central.contract import check_symbol, is_query_code
from simulators.central.progress import light_at, mask_name, mask_phone, plan, status_after, step_views
from simulators.central.signing import KeyRing, verify
from simulators.central.workdays import CHINA_TZ, WorkCalendar, end_of_day


def test_check_symbol_matches_contract_example():
    assert check_symbol("7KQ2M9XDPA4TH6WR") == "P"
    assert is_query_code("7KQ2M9XDPA4TH6WRP")
    for bad in ("7KQ2M9XDPA4TH6WRQ", "7KQ2-M9XD-PA4T-H6WR-P", "7kq2m9xdpa4th6wrp", "7KQ2M9XDPA4TH6WR", None, 17):
        assert not is_query_code(bad)


def test_check_symbols_above_31_use_extra_alphabet():
    # value 32 → "*": sixteen symbols whose value is 32 mod 37; 0…0 + "10" is 32
    assert check_symbol("0" * 14 + "10") == "*"
    assert check_symbol("0" * 15 + "Z") == "Z" and check_symbol("0" * 14 + "14") == "U"  # 36 → U
    with pytest.raises(ValueError):
        check_symbol("0" * 15 + "U")


@pytest.fixture(scope="module")
def catalog(catalog_file) -> Catalog:
    return Catalog.load(catalog_file)


def test_working_days_follow_the_catalog_calendar(catalog):
    cal = catalog.calendar
    assert not cal.is_workday(date(2026, 10, 1)) and cal.is_workday(date(2026, 10, 10))  # holiday, 调休 Saturday
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert cal.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_workdays(date(2026, 11, 28), 0) == date(2026, 11, 30)  # Saturday → Monday
    assert WorkCalendar().add_workdays(date(2027, 1, 1), 1) == date(2027, 1, 4)  # outside the catalog: Mon–Fri


def test_plan_lights_and_statuses(catalog):
    rule = catalog.rule("511900-XK-0001")  # P01 0 d, P02 1 d, P03 1 d, P04 0 d, P05 0 d
    received = datetime(2026, 11, 23, 10, 0, tzinfo=CHINA_TZ)  # a Monday
    late = plan(rule, received, 1.3, catalog.calendar)
    first = late["steps"][0]
    assert first["due"] == datetime(2026, 11, 23, 23, 59, 59, tzinfo=CHINA_TZ).timestamp()
    span = first["due"] - first["start"]
    assert light_at(first, first["start"] + 0.79 * span) == "green"
    assert light_at(first, first["start"] + 0.81 * span) == "yellow"
    assert light_at(first, first["due"] + 1) == "red"
    assert [e[1] for e in late["events"][:3]] == ["light", "light", "step"]
    second = late["steps"][1]
    assert datetime.fromtimestamp(second["due"], CHINA_TZ).date() == date(2026, 11, 25)  # next working day +1
    steps, done = step_views(late, late["steps"][1]["start"] + 1)
    assert done == 1 and [s["state"] for s in steps] == ["done", "active", "waiting", "waiting", "waiting"]
    on_time = plan(rule, received, 0.5, catalog.calendar)
    assert [e[1] for e in on_time["events"]] == ["step"] * 5
    assert [status_after(d, 5) for d in range(6)] == ["received", "accepted", "in_review", "approved",
                                                      "certificate", "ready_for_pickup"]


@settings(max_examples=300, deadline=None)
@given(limits=st.lists(st.integers(0, 5), min_size=1, max_size=6), day=st.integers(0, 59),
       minute=st.integers(0, 24 * 60 - 1), pace=st.floats(0.01, 1.0),
       holidays=st.sets(st.integers(0, 69), max_size=8), at_once=st.booleans())
def test_a_case_on_time_ends_by_its_promised_date(limits, day, minute, pace, holidays, at_once):
    """Whatever the day of receipt — a weekend, a holiday, after hours — a case whose steps take at most
    their limits (pace ≤ 1) is done by the end of its promised_by, counted as central's ack counts it."""
    first = date(2026, 12, 1)
    calendar = WorkCalendar({first + timedelta(days=d) for d in holidays})
    received = datetime.combine(first + timedelta(days=day), time(minute // 60, minute % 60), CHINA_TZ)
    rule = ItemRule("X", "X", "SOC", sum(limits), [{"code": f"P{k}", "limit_days": n} for k, n in enumerate(limits)],
                    True)
    timeline = plan(rule, received, pace, calendar, at_once)
    promised_end = end_of_day(calendar.add_workdays(received.date(), rule.promised_days)).timestamp()
    assert timeline["steps"][-1]["finish"] <= promised_end
    start = received.timestamp()
    for step in timeline["steps"]:     # one after the other, each within its due
        assert step["start"] == start and start <= step["finish"] <= step["due"]
        start = step["finish"]


def test_a_case_received_on_sunday_ends_by_its_promised_date(catalog):
    rule = catalog.rule("511900-XK-0001")  # P01 0 d, P02 1 d, P03 1 d, P04 0 d, P05 0 d; promised 2 d
    received = datetime(2026, 12, 6, 1, 0, tzinfo=CHINA_TZ)  # a Sunday: promised_by Tuesday 12-08
    assert catalog.calendar.add_workdays(received.date(), rule.promised_days) == date(2026, 12, 8)
    timeline = plan(rule, received, 0.5, catalog.calendar)
    ends = [datetime.fromtimestamp(s["finish"], CHINA_TZ).date() for s in timeline["steps"]]
    assert ends[-1] <= date(2026, 12, 8), ends   # it ended on Wednesday 12-09 before
    on_monday = datetime(2026, 12, 7, 10, 0, tzinfo=CHINA_TZ)   # a working day: each step its own limit
    monday = plan(rule, on_monday, 1.0, catalog.calendar)
    assert [datetime.fromtimestamp(s["due"], CHINA_TZ).date().day for s in monday["steps"]] == [7, 8, 9, 9, 9]


def test_masking():
    assert (mask_name("张三丰"), mask_name("张三"), mask_name("欧阳晓雯")) == ("张*丰", "张*", "欧**雯")
    assert mask_phone("13800000000") == "138****0000"


def test_signing_roundtrip_and_keys_files(tmp_path):
    keys = KeyRing(tmp_path / "keys").ensure("cmd-2026", "cat-2026")
    signed = keys.sign({"type": "cmd", "name": "锁定", "args": {"b": 1, "a": 2}}, "cmd-2026")
    public = (tmp_path / "keys" / "cmd-2026.pub").read_text().strip()
    assert verify(signed, public) and not verify({**signed, "name": "unlock"}, public)
    assert (tmp_path / "keys" / "cat-2026.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = KeyRing(tmp_path / "keys").ensure("cmd-2026")  # existing keys are loaded, not replaced
    assert again.public_keys()["cmd-2026"] == public


def test_publication_parts_reassemble(catalog):
    parts, manifest = build_publication(catalog, "2026-11-20T09:00:00+08:00", part_size=4096)
    packed = b"".join(parts)
    assert manifest["parts"] == len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert hashlib.sha256(packed).hexdigest() == manifest["sha256"] and manifest["size"] == len(packed)
    assert json.loads(gzip.decompress(packed)) == catalog.data
    assert build_publication(catalog, "x", 4096)[0] == parts  # identical bytes from every instance


def test_shareable_materials(catalog):
    assert catalog.shareable_codes("511900-XK-0001", "S02") == ["M02"]
    assert catalog.shareable_codes("nope", "S01") == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=16, max_size=16),
       st.sampled_from("0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"))
def test_exactly_one_check_symbol_fits(body, check):
    # the check value is the 80-bit number mod 37, computed here independently with int(…, 32)-like folding
    value = 0
    for ch in body:
        value = value * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(ch)
    right = "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"[value % 37]
    assert is_query_code(body + check) == (check == right)
