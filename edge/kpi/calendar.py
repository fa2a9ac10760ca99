"""The shift calendar: when a machine is planned to work, in the site's time zone.

Planned time is the union of the shifts on working weekdays that are not holidays. A
shift whose end is before its start runs over midnight. All times here are unix ns.

The KPI stage asks about the same hour and day for every reading, so the local day and
hour last asked for are remembered and each day's shifts are computed once: time-zone
arithmetic was over a third of the ingest CPU before (bench/README.md).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

NS = 1_000_000_000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[int, int]


class _Day(NamedTuple):
    day: date
    start_ns: int
    end_ns: int
    shifts: list[tuple[str, int, int]]
    """The shifts of this day and the day before (which may run into this one)."""


class ShiftCalendar:
    def __init__(self, timezone: str, weekdays: list[str],
                 shifts: list[tuple[str, time, time]], holidays: list[date]) -> None:
        self.zone = ZoneInfo(timezone)
        self.weekdays = {WEEKDAYS.index(d) for d in weekdays}
        self.shifts = shifts
        self.holidays = set(holidays)
        self._day = _Day(date.min, 0, 0, [])
        self._hour: Interval = (0, 0)
        self._shifts_on = lru_cache(maxsize=64)(self._compute_shifts_on)

    def _ns(self, day: date, moment: time) -> int:
        return int(datetime.combine(day, moment, self.zone).timestamp() * NS)

    def _local_day(self, t_ns: int) -> _Day:
        """The local day holding ``t_ns``."""
        cached = self._day
        if cached.start_ns <= t_ns < cached.end_ns:
            return cached
        day = datetime.fromtimestamp(t_ns / NS, self.zone).date()
        before = day - timedelta(days=1)
        self._day = _Day(day, self._ns(day, time()), self._ns(day + timedelta(days=1), time()),
                         self._shifts_on(before) + self._shifts_on(day))
        return self._day

    def _compute_shifts_on(self, day: date) -> list[tuple[str, int, int]]:
        if day.weekday() not in self.weekdays or day in self.holidays:
            return []
        return [(name, self._ns(day, begin),
                 self._ns(day + timedelta(days=1) if finish <= begin else day, finish))
                for name, begin, finish in self.shifts]

    def shifts_between(self, start_ns: int, end_ns: int) -> list[tuple[str, int, int]]:
        """(shift name, start, end) of the planned shifts overlapping [start, end)."""
        first = self._local_day(start_ns)
        if end_ns <= first.end_ns:  # the usual case: both ends in one day
            return [shift for shift in first.shifts if shift[1] < end_ns and shift[2] > start_ns]
        day, last = first.day - timedelta(days=1), self._local_day(end_ns).day
        found = []
        while day <= last:
            found += [shift for shift in self._shifts_on(day)
                      if shift[1] < end_ns and shift[2] > start_ns]
            day += timedelta(days=1)
        return found

    def planned_ns(self, start_ns: int, end_ns: int) -> int:
        """Planned time within [start, end)."""
        return sum(min(e, end_ns) - max(s, start_ns)
                   for _, s, e in self.shifts_between(start_ns, end_ns))

    def hour_of(self, t_ns: int) -> Interval:
        if self._hour[0] <= t_ns < self._hour[1]:
            return self._hour
        moment = datetime.fromtimestamp(t_ns / NS, self.zone).replace(
            minute=0, second=0, microsecond=0)
        start = int(moment.timestamp() * NS)
        self._hour = (start, start + 3600 * NS)
        return self._hour

    def day_of(self, t_ns: int) -> Interval:
        day = self._local_day(t_ns)
        return day.start_ns, day.end_ns

    def shift_of(self, t_ns: int) -> Interval | None:
        for _, s, e in self.shifts_between(t_ns, t_ns + 1):
            return s, e
        return None
