"""The periods of the day an environmental permit sets its noise limits by (``[neighbours]
periods``), in the site's time zone: a period may run past midnight, and the night the
clocks change it is as long as the clock says."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.pipeline.kpi.memory import PeriodNoise
from edge.pipeline.kpi.neighbour_settings import NoisePeriod

NS = 1_000_000_000


class PeriodClock:
    """Which period of the day holds an instant (the first that does)."""

    def __init__(self, periods: list[NoisePeriod], timezone: str) -> None:
        self.periods, self.zone = periods, ZoneInfo(timezone)

    def at(self, t_ns: int) -> PeriodNoise | None:
        day = datetime.fromtimestamp(t_ns // NS, self.zone).date()
        for period in self.periods:
            for begun in (day, day - timedelta(days=1)):
                start = datetime.combine(begun, period.start, self.zone)
                ends_on = begun if period.end > period.start else begun + timedelta(days=1)
                end = datetime.combine(ends_on, period.end, self.zone)
                start_ns, end_ns = int(start.timestamp()) * NS, int(end.timestamp()) * NS
                if start_ns <= t_ns < end_ns:
                    return PeriodNoise(period.name, start_ns, end_ns, period.laeq_max_db)
        return None
