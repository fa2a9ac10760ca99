"""The shift calendar: when a machine is planned to work, in the site's time zone.

Planned time is the union of the shifts on working weekdays that are not holidays, less
their breaks (ISO 22400's planned operation time less the planned downtime the calendar
knows of). A shift whose end is before its start runs over midnight; so does a break
whose end is before its start. All times here are unix ns.

The KPI stage asks about the same hour and day for every reading, so the local day and
hour last asked for are remembered and each day's shifts are computed once: time-zone
arithmetic was over a third of the ingest CPU before (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    planned: list[Interval]
    """Their planned time: each shift less its breaks."""


class ShiftCalendar:
    def __init__(self, timezone: str, weekdays: list[str],
                 shifts: list[tuple[str, time, time]], holidays: list[date],
                 breaks: Mapping[str, Sequence[tuple[time, time]]] | None = None) -> None:
        """``breaks``: shift name -> its breaks (local start and end times)."""
        self.zone = ZoneInfo(timezone)
        self.weekdays = {WEEKDAYS.index(d) for d in weekdays}
        self.shifts = shifts
        self.breaks = dict(breaks or {})
        self.holidays = set(holidays)
        self._day = _Day(date.min, 0, 0, [], [])
        self._hour: Interval = (0, 0)
        self._shifts_on = lru_cache(maxsize=64)(self._compute_shifts_on)
        self._planned_on = lru_cache(maxsize=64)(self._compute_planned_on)

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
                         self._shifts_on(before) + self._shifts_on(day),
                         self._planned_on(before) + self._planned_on(day))
        return self._day

    def _compute_shifts_on(self, day: date) -> list[tuple[str, int, int]]:
        if day.weekday() not in self.weekdays or day in self.holidays:
            return []
        return [(name, self._ns(day, begin),
                 self._ns(day + timedelta(days=1) if finish <= begin else day, finish))
                for name, begin, finish in self.shifts]

    def _compute_planned_on(self, day: date) -> list[Interval]:
        planned: list[Interval] = []
        for name, start, end in self._shifts_on(day):
            pieces = [(start, end)]
            for begin, finish in self.breaks.get(name, ()):
                pieces = [piece for a, b in pieces
                          for piece in _less(a, b, self._break_in(start, begin, finish))]
            planned += pieces
        return planned

    def _break_in(self, shift_start: int, begin: time, finish: time) -> Interval:
        """A break of the shift that starts at ``shift_start``: at its first start after
        the shift's, ending at the next ``finish`` after that."""
        day = datetime.fromtimestamp(shift_start / NS, self.zone).date()
        start = self._ns(day, begin)
        if start < shift_start:
            day += timedelta(days=1)
            start = self._ns(day, begin)
        end_day = day + timedelta(days=1) if finish <= begin else day
        return start, self._ns(end_day, finish)

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
        """Planned time within [start, end): the shifts less their breaks."""
        first = self._local_day(start_ns)
        if end_ns <= first.end_ns:  # the usual case: both ends in one day
            pieces = first.planned
        else:
            day, last, pieces = first.day - timedelta(days=1), self._local_day(end_ns).day, []
            while day <= last:
                pieces = pieces + self._planned_on(day)
                day += timedelta(days=1)
        return sum(min(e, end_ns) - max(s, start_ns) for s, e in pieces
                   if s < end_ns and e > start_ns)

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


def _less(a: int, b: int, hole: Interval) -> list[Interval]:
    """[a, b) without ``hole``, in at most two pieces."""
    return [(x, y) for x, y in ((a, min(b, hole[0])), (max(a, hole[1]), b)) if x < y]
