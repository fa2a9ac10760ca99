"""Properties of the KPI arithmetic, for any input hypothesis can think of."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.reading import Reading
from edge.pipeline.kpi.calendar import ShiftCalendar
from edge.pipeline.kpi.energy_counter import NS_PER_H, EnergyCounter, PowerIntegrator
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.kpi.oee import WindowTotals
from edge.service.config import parse_config

NS = 10**9
steps = st.lists(st.tuples(st.integers(1, 3600), st.floats(0, 1e5, allow_nan=False)),
                 min_size=1, max_size=60)


@given(steps, st.one_of(st.none(), st.floats(1, 1e5)))
def test_counter_energy_never_decreases_and_never_jumps(
        readings: list[tuple[int, float]], wrap: float | None) -> None:
    counter = EnergyCounter(max_power_w=30_000, wrap_kwh=wrap)
    t = 0
    previous = None
    for gap_s, raw in readings:
        t += gap_s * NS
        total = counter.update(raw, t)
        if previous is not None:
            assert total >= previous
            assert total - previous <= 30 * gap_s * NS / NS_PER_H + 1e-9  # kW x h
        previous = total


@given(st.floats(0, 50_000), st.lists(st.integers(1, 3600), min_size=1, max_size=50))
def test_constant_power_integrates_exactly(power_w: float, gaps: list[int]) -> None:
    integrator = PowerIntegrator()
    t = 0
    integrator.update(power_w, t)
    for gap in gaps:
        t += gap * NS
        total = integrator.update(power_w, t)
    assert abs(total - power_w * sum(gaps) / 3_600_000) <= 1e-9 * max(1.0, total)


@given(st.integers(0, 10**13), st.integers(0, 10**13), st.floats(0, 1e6), st.floats(0, 1e4),
       st.floats(0, 1e4), st.floats(0, 1e6), st.floats(0, 1e6))
def test_oee_factors_stay_within_0_and_1(run: int, planned: int, ideal: float, good: float,
                                         scrap: float, material: float, scrap_g: float) -> None:
    window = WindowTotals("hour", 0, 3600 * NS, run_ns=run, ideal_s=ideal, good=good,
                          scrap=scrap, material_g=material, scrap_g=min(scrap_g, material))
    factors = window.factors(planned)
    for name in ("availability", "performance", "quality", "oee"):
        assert 0.0 <= factors[name] <= 1.0, name
    figures = window.circularity()
    assert 0.0 <= figures["scrap_rate_count"] <= 1.0
    assert 0.0 <= figures["scrap_rate_mass"] <= 1.0


CONFIG = parse_config({
    "site": {"id": "p"}, "influx": {"api": "v1", "url": "http://a:1"},
    "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                 "shifts": [{"name": "a", "start": "06:00", "end": "14:00"},
                            {"name": "b", "start": "22:00", "end": "02:00"}]},
    "machines": [{"id": "m", "kind": "cnc", "ideal_cycle_s": 60,
                  "sources": [{"topic": "t", "profile": "json"}]}],
})
STATES = ["running", "idle", "stopped", "fault", "offline", "maintenance"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 7200), st.sampled_from(STATES),
                          st.integers(0, 3), st.integers(0, 1)), min_size=1, max_size=40))
def test_engine_oee_stays_within_0_and_1(events: list[tuple[int, str, int, int]]) -> None:
    engine = KpiEngine(CONFIG)
    t = 1_795_420_800 * NS
    good = scrap = 0
    points = []
    for gap, state, new_good, new_scrap in events:
        t += gap * NS
        good, scrap = good + new_good, scrap + new_scrap
        readings = [Reading("p", "m", "state", state, None, t),
                    Reading("p", "m", "parts_good", float(good), None, t),
                    Reading("p", "m", "parts_scrap", float(scrap), None, t)]
        points += engine.process(readings)[1]
        points += engine.tick(t)[1]
    ended, drafts = engine.flush(t)
    points += ended + drafts
    for point in points:
        if point.measurement == "oee":
            fields = dict(point.fields)
            for name in ("availability", "performance", "quality", "oee"):
                assert 0.0 <= float(fields[name]) <= 1.0
            assert float(fields["run_s"]) <= float(fields["planned_s"]) + 1e-6


def reference_planned_ns(zone: ZoneInfo, shifts: list[tuple[time, time]], weekdays: set[int],
                         start_ns: int, end_ns: int) -> int:
    """The planned time computed the slow, obvious way: every local day, every shift."""
    def ns(day: date, moment: time) -> int:
        return int(datetime.combine(day, moment, zone).timestamp() * NS)

    day = datetime.fromtimestamp(start_ns / NS, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_ns / NS, zone).date()
    total = 0
    while day <= last:
        if day.weekday() in weekdays:
            for begin, finish in shifts:
                s = ns(day, begin)
                e = ns(day + timedelta(days=1) if finish <= begin else day, finish)
                total += max(0, min(e, end_ns) - max(s, start_ns))
        day += timedelta(days=1)
    return total


# around the 2026 spring and autumn clock changes in Brussels, and ordinary weeks
@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from([1_774_000_000, 1_792_000_000, 1_780_000_000]),
                          st.integers(0, 8 * 86400), st.integers(1, 3 * 86400)),
                min_size=1, max_size=30))
def test_cached_calendar_agrees_with_the_obvious_computation(
        spans: list[tuple[int, int, int]]) -> None:
    shifts = [(time(6), time(14)), (time(22), time(6))]  # the night shift crosses midnight
    calendar = ShiftCalendar("Europe/Brussels", ["mon", "tue", "wed", "thu", "sat"],
                             [(f"s{i}", b, e) for i, (b, e) in enumerate(shifts)], [])
    for base, offset, length in spans:  # one calendar for all: its caches carry over
        start = (base + offset) * NS
        assert calendar.planned_ns(start, start + length * NS) == reference_planned_ns(
            calendar.zone, shifts, {0, 1, 2, 3, 5}, start, start + length * NS)
