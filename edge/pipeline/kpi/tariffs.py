"""Energy prices by time band: ``[[tariffs]]``, each a price on some weekdays between two
local times. The first band that holds an instant sets its price; an instant no band
holds has no price, so the energy spent then makes a job's energy cost unknown, never
zero (docs/metrics.md, cost per good part).

A meter's kWh over [since, t) is spread evenly over that time, as the windows spread it,
so an interval that spans a band's edge (17:00) is priced part at each band's price.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from contract.model import StrictModel

NS = 1_000_000_000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Tariff(StrictModel):
    """One ``[[tariffs]]`` band, e.g. peak Monday to Friday 07:00-22:00 at 0.32 EUR/kWh."""

    name: str = Field(min_length=1)
    """Names the band in docs and dashboards (peak, off-peak, night)."""
    eur_per_kwh: float = Field(ge=0)
    """The price of a kWh in this band, all charges that scale with energy included."""
    weekdays: list[str] = Field(default_factory=lambda: list(WEEKDAYS))
    """Days it holds on (mon ... sun); all by default."""
    start: time = time(0)
    """Local time it begins (inclusive), in the site's time zone."""
    end: time = time(0)
    """Local time it ends (exclusive); an end at or before the start runs past midnight
    (00:00-00:00 is the whole day)."""

    @field_validator("weekdays")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        for day in days:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; expected {', '.join(WEEKDAYS)}")
        return days

    def holds(self, moment: datetime) -> bool:
        """Whether the band holds at this local moment (a band running past midnight
        belongs to the day it starts on)."""
        clock, day = moment.time(), moment.weekday()
        if self.start < self.end:
            return WEEKDAYS[day] in self.weekdays and self.start <= clock < self.end
        if clock >= self.start:
            return WEEKDAYS[day] in self.weekdays
        return clock < self.end and WEEKDAYS[(day - 1) % 7] in self.weekdays


class Segment(NamedTuple):
    """A part of an interval within one band (or none), with its share of the kWh."""

    start_ns: int
    band: Tariff | None
    kwh: float


class TariffClock:
    """The price of energy at any instant, and of kWh spread over an interval. The band
    last found is kept with the span it holds over, so the readings of a job (many per
    minute) cost no time-zone arithmetic until the next band edge."""

    def __init__(self, tariffs: list[Tariff], timezone: str) -> None:
        self.tariffs, self.zone = tariffs, ZoneInfo(timezone)
        self.edges = sorted({t.start for t in tariffs} | {t.end for t in tariffs} | {time(0)})
        self._span: tuple[int, int, Tariff | None] = (0, 0, None)
        """[start, end) between two edges, and the band that holds."""

    def price(self, t_ns: int) -> float | None:
        """EUR per kWh at this instant, or None where no band holds."""
        band = self._at(t_ns)[2]
        return None if band is None else band.eur_per_kwh

    def eur(self, kwh: float, since: int, t: int) -> float | None:
        """The price of ``kwh`` spent evenly over [since, t); None if part of it falls
        where no band holds."""
        total = 0.0
        for segment in self.segments(kwh, since, t):
            if segment.band is None:
                return None
            total += segment.kwh * segment.band.eur_per_kwh
        return total

    def segments(self, kwh: float, since: int, t: int) -> Iterator[Segment]:
        """``kwh`` spent evenly over [since, t), cut where a band begins or ends (every
        midnight is such an edge, so no segment spans two days or months)."""
        if t <= since:
            yield Segment(t, self._at(t)[2], kwh)
            return
        at = since
        while at < t:
            _, edge, band = self._at(at)
            yield Segment(at, band, kwh * (min(edge, t) - at) / (t - since))
            at = edge

    def _at(self, t_ns: int) -> tuple[int, int, Tariff | None]:
        if not self._span[0] <= t_ns < self._span[1]:
            moment = datetime.fromtimestamp(t_ns / NS, self.zone)
            band = next((t for t in self.tariffs if t.holds(moment)), None)
            self._span = (t_ns, self._next_edge(moment, t_ns), band)
        return self._span

    def _next_edge(self, moment: datetime, t_ns: int) -> int:
        """The next instant after ``t_ns`` at which a band may begin or end."""
        for days in (0, 1):
            day = moment.date() + timedelta(days=days)
            for edge in self.edges:
                at = int(datetime.combine(day, edge, self.zone).timestamp()) * NS
                if at > t_ns:
                    return at
        return t_ns + 86_400 * NS
