"""Working-day calendar (工作日历) from the catalog: holidays, adjusted workdays (调休) and promised dates."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from kiosk.catalog.model import CatalogError, label

# Service halls run on Beijing time whatever the Pi's zone is set to.
CHINA_TZ = timezone(timedelta(hours=8))


class CalendarGap(LookupError):
    """A date needed for the computation lies in a year the catalog's calendar does not cover."""


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days: Monday–Friday, minus holidays, plus adjusted workdays, for the
    covered years only (outside them the answer would be a guess, so CalendarGap is raised)."""

    years: frozenset[int]
    holidays: frozenset[date]
    adjusted_workdays: frozenset[date]

    @classmethod
    def from_catalog(cls, raw: dict[str, Any] | Iterable[dict[str, Any]]) -> WorkCalendar:
        """Build from the catalog's ``calendar`` object (one year) or a list of them. Raises CatalogError."""
        if not isinstance(raw, (dict, list, tuple)):
            raise CatalogError(f"calendar: is a {type(raw).__name__}, not an object or a list")
        parts = [raw] if isinstance(raw, dict) else list(raw)
        years: set[int] = set()
        holidays: set[date] = set()
        adjusted: set[date] = set()
        for part in parts:
            try:
                year = int(part["year"])
                holidays.update(date.fromisoformat(d) for d in part.get("holidays", []))
                adjusted.update(date.fromisoformat(d) for d in part.get("adjusted_workdays", []))
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                raise CatalogError(f"calendar: {label(str(exc), 120)}") from None
            years.add(year)
        return cls(frozenset(years), frozenset(holidays), frozenset(adjusted))

    def is_workday(self, day: date) -> bool:
        """Raises CalendarGap when ``day`` is outside the covered years."""
        if day.year not in self.years:
            raise CalendarGap(f"no working-day calendar for {day.year}")
        if day in self.adjusted_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_workdays(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (the day of submission does not count; with
        0 days, the first working day from ``start`` on). Raises CalendarGap."""
        if days < 0:
            raise ValueError("days must be >= 0")
        day = start
        if days == 0:
            while not self.is_workday(day):
                day += timedelta(days=1)
            return day
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def promised_date(self, now: datetime | None, days: int) -> date | None:
        """Promised completion date for a case submitted at ``now``; None when the clock is known to be
        wrong (``now`` is None) or the calendar does not cover the dates needed."""
        if now is None:
            return None
        local = now.astimezone(CHINA_TZ) if now.tzinfo else now
        try:
            return self.add_workdays(local.date(), days)
        except CalendarGap:
            return None
