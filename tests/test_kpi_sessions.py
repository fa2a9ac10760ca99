"""Properties of whole sessions: hypothesis generates sequences of events (jobs started
with their name before or after the start or none, ends, states, meters that report,
reset, are replaced or appear mid-job, ticks of the clock, restarts of the edge) and the
KPI stage's points must hold together, as InfluxDB keeps them (the last write of a
series and time)."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contract.reading import Reading
from edge.pipeline.kpi.context import Point
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.kpi.memory import dump
from edge.pipeline.kpi.windows import KEEP_NS
from edge.service.config import parse_config

NS = 10**9
T0 = 1_792_400_000  # 2026-10-18, a week before the autumn clock change in Brussels
CONFIG = parse_config({
    "site": {"id": "s", "timezone": "Europe/Brussels"},
    "influx": {"api": "v1", "url": "http://a:1"},
    "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"],
                 "shifts": [{"name": "early", "start": "06:00", "end": "14:00"},
                            {"name": "night", "start": "22:00", "end": "02:00"}]},
    "machines": [{"id": "m", "kind": "printer", "sources": [{"topic": "t", "profile": "json"}]}],
})
EVENTS = ["meter", "meter", "meter", "power", "start_named_first", "start_named_after",
          "start_unnamed", "end_good", "end_scrap", "state_idle", "state_running", "reset",
          "replace", "tick", "restart"]
sessions = st.lists(st.tuples(st.integers(1, 5400), st.sampled_from(EVENTS),
                              st.floats(0, 3000, allow_nan=False)), min_size=12, max_size=80)
TOTALS = ("energy_kwh", "standby_kwh", "material_g", "good_parts", "scrap_parts", "run_s")


def run(session: list[tuple[int, str, float]], start_s: int,
        restarts: bool) -> tuple[list[Point], list[Reading], dict[int, str]]:
    """The points and readings of a session, and each job's name as announced."""
    engine = KpiEngine(CONFIG)
    t = start_s * NS
    raw = 100.0  # the counter, kWh
    points: list[Point] = []
    out: list[Reading] = []
    names: dict[int, str] = {}
    jobs = 0

    def feed(*readings: tuple[str, Any, str | None]) -> None:
        done, made = engine.process([Reading("s", "m", signal, value, None, t, meter)
                                     for signal, value, meter in readings])
        out.extend(done)
        points.extend(made)

    for gap, event, watts in session:
        t += gap * NS
        raw += watts * gap / 3_600_000
        if event == "meter":
            feed(("energy_kwh", raw, "plug"))
        elif event == "power":  # a second meter, power only, appearing whenever
            feed(("power_w", watts, "sub"))
        elif event == "reset":
            raw = watts * gap / 3_600_000
            feed(("energy_kwh", raw, "plug"))
        elif event == "replace":
            raw = 90_000.0 + raw
            feed(("energy_kwh", raw, "plug"))
        elif event.startswith("start"):
            jobs += 1
            name = f"job-{jobs}"
            start = ("job_event", "start", None)
            if event == "start_named_first":
                feed(("job_name", name, None), start)
            elif event == "start_named_after":
                feed(start, ("job_name", name, None))
            else:
                feed(start)
                name = ""
            names[t] = name
        elif event.startswith("end"):
            feed(("job_event", "end", None), ("job_outcome", event[4:], None))
        elif event.startswith("state"):
            feed(("state", event[6:], None))
        elif event == "tick":
            drafts: list[Point] = []
            readings, made = engine.tick(t, drafts)
            made += drafts
            out.extend(readings)
            points.extend(made)
        elif event == "restart" and restarts:
            engine = KpiEngine(CONFIG, {machine: dump(kpi.m)
                                        for machine, kpi in engine.machines.items()})
    for made_at_stop in engine.flush(t):
        points.extend(made_at_stop)
    return points, out, names


def kept(points: list[Point]) -> dict[tuple[str, tuple[tuple[str, str], ...], int],
                                      dict[str, float | str]]:
    found: dict[tuple[str, tuple[tuple[str, str], ...], int], dict[str, float | str]] = {}
    for point in points:
        key = (point.measurement, point.tags, point.time_ns)
        found[key] = {**found.get(key, {}), **dict(point.fields)}
    return found


def windows(points: list[Point], kind: str) -> dict[int, dict[str, float | str]]:
    return {time: fields for (name, tags, time), fields in kept(points).items()
            if name == "circularity" and ("window", kind) in tags}


@settings(max_examples=300, deadline=None)
@given(sessions, st.integers(0, 14 * 86400))
def test_sessions_hold_together(session: list[tuple[int, str, float]], offset: int) -> None:
    points, readings, names = run(session, T0 + offset, restarts=False)
    hours, days = windows(points, "hour"), windows(points, "day")
    engine = KpiEngine(CONFIG)
    calendar = engine.calendar

    # the hours of a day add up to the day
    by_day: dict[int, float] = defaultdict(float)
    for start, fields in hours.items():
        by_day[calendar.day_of(start)[0]] += float(fields["energy_kwh"])
    for day, energy in by_day.items():
        assert abs(float(days[day]["energy_kwh"]) - energy) <= 1e-6, day

    # what the windows hold is what the meters counted, nothing more, nothing less
    # (unless a meter was silent for longer than the windows are kept for it)
    totals: dict[str, list[float]] = defaultdict(list)
    times: dict[str, list[int]] = defaultdict(list)
    for r in readings:
        if r.signal == "energy_kwh":
            totals[r.meter or ""].append(float(r.value))
            times[r.meter or ""].append(r.time_ns)
    for series in totals.values():
        assert series == sorted(series)  # the stored energy never goes back
    # a counter's first value is where it stood; a power integral starts at 0
    counted = sum(series[-1] - (series[0] if meter == "plug" else 0.0)
                  for meter, series in totals.items())
    silences = [b - a for stamps in times.values() for a, b in pairwise(stamps)]
    if max(silences, default=0) < KEEP_NS:
        assert abs(sum(float(f["energy_kwh"]) for f in hours.values()) - counted) <= 1e-6

    # a job: never negative energy, never more than the windows it spans; its own name
    for point in points:
        if point.measurement != "job":
            continue
        fields = dict(point.fields)
        start = point.time_ns - round(float(fields["duration_s"]) * NS)
        assert fields["job"] == names[start]
        if "energy_kwh" not in fields:  # no meter had reported yet: energy unknown
            first = min((stamp for stamps in times.values() for stamp in stamps), default=None)
            assert first is None or first > point.time_ns
            continue
        energy = float(fields["energy_kwh"])
        spanned = sum(float(f["energy_kwh"]) for s, f in hours.items()
                      if calendar.hour_of(start)[0] <= s < point.time_ns)
        assert 0.0 <= energy <= spanned + 1e-6

    # a window written again is the whole window again: its totals never shrink
    history: dict[tuple[str, tuple[tuple[str, str], ...], int], dict[str, float]] = {}
    for point in points:
        if point.measurement in ("oee", "circularity"):
            key = (point.measurement, point.tags, point.time_ns)
            before = history.get(key, {})
            now = {k: float(v) for k, v in point.fields if k in TOTALS}
            for field, value in now.items():
                assert value >= before.get(field, 0.0) - 1e-9, (key, field)
            history[key] = now


@settings(max_examples=200, deadline=None)
@given(sessions, st.integers(0, 14 * 86400))
def test_a_restart_changes_no_figure(session: list[tuple[int, str, float]], offset: int) -> None:
    without, _, _ = run(session, T0 + offset, restarts=False)
    with_restarts, _, _ = run(session, T0 + offset, restarts=True)
    assert kept(with_restarts) == kept(without)
