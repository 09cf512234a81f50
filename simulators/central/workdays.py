"""Working-day calendar (工作日) from the catalog: holidays and adjusted working weekends (调休) for the
years the catalog lists; Monday to Friday elsewhere. Promised dates and step deadlines count in it."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8))


class WorkCalendar:
    def __init__(self, holidays: set[date] | None = None, workdays: set[date] | None = None) -> None:
        self.holidays = holidays or set()
        self.adjusted_workdays = workdays or set()
        self._due_cache: dict[tuple[date, int], float] = {}

    @classmethod
    def from_catalog(cls, catalog: dict) -> WorkCalendar:
        """Reads ``catalog["calendar"]``; a missing or malformed calendar means plain Monday to Friday."""
        cal = catalog.get("calendar") if isinstance(catalog, dict) else None
        if not isinstance(cal, dict):
            return cls()

        def dates(key: str) -> set[date]:
            out = set()
            for text in cal.get(key) or []:
                try:
                    out.add(date.fromisoformat(str(text)))
                except ValueError:
                    continue  # a bad calendar entry must not stop central from starting
            return out

        return cls(dates("holidays"), dates("adjusted_workdays"))

    def due_epoch(self, day: date, limit_days: int) -> float:
        """End of the day ``limit_days`` working days after ``day``, as epoch seconds (cached: every
        accepted case asks for the same few days)."""
        key = (day, limit_days)
        due = self._due_cache.get(key)
        if due is None:
            due = self._due_cache[key] = end_of_day(self.add_workdays(day, limit_days)).timestamp()
        return due

    def is_workday(self, day: date) -> bool:
        if day in self.adjusted_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """``day`` itself when it is a working day, else the next one."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (counting starts the next day); 0 gives the first
        working day on or after ``day`` (a same-day limit, 即办)."""
        if count <= 0:
            return self.next_workday(day)
        while count > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return day


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in China time: a limit of N working days runs until then."""
    return datetime.combine(day, time(23, 59, 59), CHINA_TZ)


def iso(moment: datetime) -> str:
    """RFC 3339 with the +08:00 offset and whole seconds, the contract's time format."""
    return moment.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()
