"""Working-day calendar and promised dates from the sample catalog's 2026 calendar."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from kiosk.catalog import CalendarGap, WorkCalendar

CN = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def cal(sample_catalog) -> WorkCalendar:
    return sample_catalog.calendar


def test_weekdays_holidays_and_adjusted_workdays(cal):
    assert cal.is_workday(date(2026, 11, 24))          # Tuesday
    assert not cal.is_workday(date(2026, 11, 28))      # Saturday
    assert not cal.is_workday(date(2026, 10, 1))       # 国庆 holiday on a Thursday
    assert cal.is_workday(date(2026, 10, 10))          # Saturday 调休 workday
    assert cal.is_workday(date(2026, 2, 14))           # Saturday before 春节, adjusted
    assert not cal.is_workday(date(2026, 2, 16))       # 春节 Monday


def test_promised_date_skips_the_national_day_week(cal):
    # Submitted Wednesday 30 Sep: 1–7 Oct are holidays, Thu 8 and Fri 9 work, Sat 10 is a 调休 workday.
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_workdays(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_submission_day_does_not_count_and_zero_days(cal):
    assert cal.add_workdays(date(2026, 11, 24), 2) == date(2026, 11, 26)
    assert cal.add_workdays(date(2026, 11, 24), 0) == date(2026, 11, 24)
    assert cal.add_workdays(date(2026, 11, 28), 0) == date(2026, 11, 30)  # Saturday → Monday


def test_promised_date_uses_beijing_time(cal):
    # 23:30 UTC on Monday is already Tuesday in Beijing.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert cal.promised_date(late, 1) == date(2026, 11, 25)


def test_no_date_from_a_wrong_clock_or_outside_the_calendar(cal):
    assert cal.promised_date(None, 5) is None
    assert cal.promised_date(datetime(2026, 12, 28, 9, tzinfo=CN), 10) is None  # needs 2027
    with pytest.raises(CalendarGap):
        cal.is_workday(date(2025, 12, 31))


def test_several_years(sample_catalog):
    cal = WorkCalendar.from_catalog([{"year": 2026, "holidays": [], "adjusted_workdays": []},
                                     {"year": 2027, "holidays": ["2027-01-01"], "adjusted_workdays": []}])
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
