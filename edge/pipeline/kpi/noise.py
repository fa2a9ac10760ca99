"""Noise as an environmental permit measures it (docs/metrics.md, neighbours): levels
averaged as energy, never arithmetically,

    LAeq over T = 10 log10( (1/T) Σ 10^(L_i/10) t_i )

each minute's own LAeq, the sliding hour of the last 60 minutes, and per period of
``[neighbours] periods`` its LAeq, its highest level and the minutes whose own LAeq was
above the period's limit. A sound sensor's reading is the equivalent level over the time
since its last one (its interval), spread over the minutes it spans; after a silence of
more than ``MAX_GAP_S`` the first reading only sets the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from edge.pipeline.kpi.context import NS, MachineContext, Point
from edge.pipeline.kpi.memory import NoiseMemory, PeriodNoise

MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
MAX_GAP_S = 300


def level(energy_s: float, seconds: float) -> float:
    """The equivalent level of Σ 10^(L/10) t over ``seconds``."""
    return 10 * math.log10(energy_s / seconds)


class Noise:
    """One sound sensor's minutes, sliding hour and periods."""

    def __init__(self, context: MachineContext, memory: NoiseMemory) -> None:
        self.context, self.m, self.periods = context, memory, context.periods
        self.running: Callable[[], list[str]] = list
        """The machines running now (the engine's): a minute over the limit is theirs."""

    def on_sound(self, value: float, t: int, points: list[Point]) -> None:
        m = self.m
        period = self.period_at(t)
        if period is not None:
            period.lmax_db = max(period.lmax_db, value)
        if m.last_ns and 0 < t - m.last_ns <= MAX_GAP_S * NS:
            at = m.last_ns
            while at < t:
                minute = at - at % MINUTE_NS
                if minute != m.minute_ns:
                    self.close_minute(points)
                    m.minute_ns = minute
                until = min(minute + MINUTE_NS, t)
                m.energy_s += 10 ** (value / 10) * (until - at) / NS
                m.seconds += (until - at) / NS
                at = until
                if until == minute + MINUTE_NS:  # nothing can reach it any more
                    self.close_minute(points)
                    m.minute_ns = until
        m.last_ns = max(m.last_ns, t)

    def tick(self, now_ns: int, points: list[Point]) -> list[PeriodNoise]:
        """A minute no reading can reach any more is closed; the periods that ended since
        the last tick, taken (the alert tells those over their limit)."""
        m = self.m
        if m.minute_ns and now_ns >= m.minute_ns + MINUTE_NS + MAX_GAP_S * NS:
            self.close_minute(points)
            m.minute_ns = 0
        ended, m.ended = m.ended, []
        return ended

    def sliding_hour(self, now_ns: int) -> float | None:
        """LAeq of the minutes measured in the 60 whole minutes before ``now_ns`` (None:
        none)."""
        since = now_ns - now_ns % MINUTE_NS - HOUR_NS
        hour = [(e, s) for start, e, s in self.m.hour if start >= since]
        energy, seconds = sum(e for e, _ in hour), sum(s for _, s in hour)
        return level(energy, seconds) if seconds else None

    def close_minute(self, points: list[Point]) -> None:
        m = self.m
        start, energy, seconds = m.minute_ns, m.energy_s, m.seconds
        m.energy_s = m.seconds = 0.0
        if not seconds:
            return
        end = start + MINUTE_NS
        m.hour = [entry for entry in m.hour if entry[0] >= end - HOUR_NS] + [
            (start, energy, seconds)]
        minute_db = level(energy, seconds)
        points.append(Point("noise", self.context.tags(), (
            ("laeq_1h_db", self.sliding_hour(end) or minute_db), ("laeq_1min_db", minute_db)),
            end))
        period = self.period_at(start)
        if period is not None:
            period.energy_s += energy
            period.seconds += seconds
            if minute_db > period.limit_db:
                period.minutes_over += 1
                for machine in self.running():
                    period.machines_over[machine] = period.machines_over.get(machine, 0) + 1
            self._write(period, points)
        for begun in [s for s, p in m.periods.items() if p.end_ns <= end]:
            m.ended.append(m.periods.pop(begun))

    def period_at(self, t: int) -> PeriodNoise | None:
        """The period that holds ``t`` (kept, as the sensor's minutes fill it)."""
        for period in self.m.periods.values():
            if period.start_ns <= t < period.end_ns:
                return period
        found = self.periods.at(t)
        if found is not None:
            self.m.periods[found.start_ns] = found
        return found

    def _write(self, period: PeriodNoise, points: list[Point]) -> None:
        points.append(Point("noise", self.context.tags(("period", period.name)), (
            ("laeq_db", level(period.energy_s, period.seconds)),
            ("lmax_db", period.lmax_db), ("minutes_over", float(period.minutes_over)),
            ("limit_db", period.limit_db), ("machines_over", ", ".join(
                f"{m}={n}" for m, n in sorted(period.machines_over.items(),
                                               key=lambda item: (-item[1], item[0]))))),
            period.start_ns))
