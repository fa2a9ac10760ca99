"""The shift calendar: when a machine is planned to work, in the site's time zone.

Planned time is the union of the shifts on working weekdays that are not holidays. A
shift whose end is before its start runs over midnight. All times here are unix ns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NS = 1_000_000_000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[int, int]


class ShiftCalendar:
    def __init__(self, timezone: str, weekdays: list[str],
                 shifts: list[tuple[str, time, time]], holidays: list[date]) -> None:
        self.zone = ZoneInfo(timezone)
        self.weekdays = {WEEKDAYS.index(d) for d in weekdays}
        self.shifts = shifts
        self.holidays = set(holidays)

    def _ns(self, day: date, moment: time) -> int:
        return int(datetime.combine(day, moment, self.zone).timestamp() * NS)

    def shifts_between(self, start_ns: int, end_ns: int) -> list[tuple[str, int, int]]:
        """(shift name, start, end) of the planned shifts overlapping [start, end)."""
        first = datetime.fromtimestamp(start_ns / NS, self.zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end_ns / NS, self.zone).date()
        found = []
        day = first
        while day <= last:
            if day.weekday() in self.weekdays and day not in self.holidays:
                for name, begin, finish in self.shifts:
                    s = self._ns(day, begin)
                    e = self._ns(day + timedelta(days=1) if finish <= begin else day, finish)
                    if s < end_ns and e > start_ns:
                        found.append((name, s, e))
            day += timedelta(days=1)
        return found

    def planned_ns(self, start_ns: int, end_ns: int) -> int:
        """Planned time within [start, end)."""
        return sum(min(e, end_ns) - max(s, start_ns)
                   for _, s, e in self.shifts_between(start_ns, end_ns))

    def hour_of(self, t_ns: int) -> Interval:
        moment = datetime.fromtimestamp(t_ns / NS, self.zone).replace(
            minute=0, second=0, microsecond=0)
        start = int(moment.timestamp() * NS)
        return start, start + 3600 * NS

    def day_of(self, t_ns: int) -> Interval:
        day = datetime.fromtimestamp(t_ns / NS, self.zone).date()
        return self._ns(day, time()), self._ns(day + timedelta(days=1), time())

    def shift_of(self, t_ns: int) -> Interval | None:
        for _, s, e in self.shifts_between(t_ns, t_ns + 1):
            return s, e
        return None
