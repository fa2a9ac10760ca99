"""The KPI stage: canonical readings in, the same readings (energy made monotonic) plus
derived points out. Time comes from the readings (and ``tick``), never from the wall
clock, so a replay computes exactly what the live service did.

Per machine it keeps: the state and since when; each meter's energy counter or power
integral; the material consumed; the open job; and the open OEE windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from edge.config import Config, Machine
from edge.eventlog import describe
from edge.kpi.calendar import ShiftCalendar
from edge.kpi.energy_counter import EnergyCounter, PowerIntegrator
from edge.kpi.material import filament_grams
from edge.kpi.oee import WindowTotals
from edge.reading import Reading

NS = 1_000_000_000
WINDOW_KINDS = ("hour", "shift", "day")
MAX_SPAN_NS = 7 * 86400 * NS
"""The longest stretch of time one reading may account into windows: the live service
advances every machine each health interval, so only a reading after a long silence (or
a clock jump) spans more; the older part is left out rather than walked hour by hour."""


class Point(NamedTuple):
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, float | str], ...]
    time_ns: int


@dataclass
class OpenJob:
    start_ns: int
    name: str
    energy_kwh: float
    material_g: float
    good: float
    scrap: float
    ideal_s: float | None = None


@dataclass
class MachineKpi:
    machine: Machine
    site: str
    calendar: ShiftCalendar
    co2e_kg_per_kwh: float
    state: str = "offline"
    since_ns: int | None = None
    last_seen_ns: int = 0
    device_states: bool = False
    counters: dict[str, EnergyCounter] = field(default_factory=dict)
    integrators: dict[str, PowerIntegrator] = field(default_factory=dict)
    consumed_g: float = 0.0
    filament_mm: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    has_counters: bool = False
    program: str = ""
    remaining: tuple[float, int] | None = None
    """The slicer's last estimate of the time left, and when it came."""
    silenced: str | None = None
    """The state before silence made the machine offline, restored when it speaks again."""
    job: OpenJob | None = None
    windows: dict[tuple[str, int], WindowTotals] = field(default_factory=dict)

    # -- readings ---------------------------------------------------------------------

    def observe(self, r: Reading, out: list[Reading], points: list[Point]) -> None:
        t, signal, value = r.time_ns, r.signal, r.value
        self.last_seen_ns = max(self.last_seen_ns, t)
        if self.silenced is not None:
            previous, self.silenced = self.silenced, None
            if signal != "state":
                self._set_state(previous, t)
                out.append(Reading(self.site, self.machine.id, "state", previous, None, t))
        if signal == "state":
            if r.meter is None:
                self.device_states = True
            self._set_state(str(value), t)
        elif signal == "energy_kwh":
            meter = r.meter or self.machine.id
            counter = self.counters.setdefault(meter, EnergyCounter(
                self.machine.max_power_w, self.machine.counter_wrap_kwh))
            self.integrators.pop(meter, None)  # a meter with a counter is not integrated
            before, since = self.energy_kwh(), counter.last_ns
            total = counter.update(float(value), t)
            if before is not None:
                self._spent((self.energy_kwh() or 0.0) - before, since, t)
            out.append(r._replace(value=total))
            return
        elif signal == "power_w":
            meter = r.meter or self.machine.id
            if meter not in self.counters:
                integrator = self.integrators.setdefault(meter, PowerIntegrator())
                since, before = integrator.last_ns, integrator.total_kwh
                total = integrator.update(float(value), t)
                self._spent(total - before, since, t)
                if since is not None:  # by the second reading a counter would have shown itself
                    out.append(Reading(r.site, r.machine, "energy_kwh", total, None, t, meter))
            self._power_state(float(value), t, out)
        elif signal == "filament_used_mm":
            used = float(value)
            delta = used - self.filament_mm if used >= self.filament_mm else used
            self.filament_mm = used
            m = self.machine
            self._consume(filament_grams(delta, m.material, m.filament_diameter_mm,
                                         m.density_g_cm3), t, points)
        elif signal in ("parts_produced", "parts_good", "parts_scrap"):
            self._counter(signal, float(value), t, points)
        elif signal == "job_name":
            self.program = str(value)
            if self.job is not None and not self.job.name:
                self.job.name = self.program
        elif signal == "remaining_time_s":
            self.remaining = (float(value), t)
            if self.job is not None and self.job.ideal_s is None and float(value) > 0:
                self.job.ideal_s = (t - self.job.start_ns) / NS + float(value)
        elif signal == "job_event" and value == "start":
            self._start_job(t)
        elif signal == "job_outcome":
            self._end_job(str(value), t, points)
        out.append(r)

    def check_silence(self, now_ns: int) -> list[Reading]:
        """Offline after ``silence_s`` without a message; the state before is kept, for
        when the machine speaks again."""
        if (not self.last_seen_ns or self.state == "offline"
                or now_ns - self.last_seen_ns <= self.machine.silence_s * NS):
            return []
        self.silenced = self.state
        self._set_state("offline", now_ns)
        return [Reading(self.site, self.machine.id, "state", "offline", None, now_ns)]

    def energy_kwh(self) -> float | None:
        totals = [c.total_kwh for c in self.counters.values() if c.total_kwh is not None]
        totals += [i.total_kwh for i in self.integrators.values()]
        return sum(totals) if totals else None

    def _power_state(self, power_w: float, t: int, out: list[Reading]) -> None:
        thresholds = self.machine.power_thresholds
        if thresholds is None or self.device_states:
            return
        state = ("running" if power_w >= thresholds.running_w else
                 "idle" if power_w >= thresholds.idle_w and thresholds.idle_w > 0 else
                 "stopped")
        if state != self.state:
            self._set_state(state, t)
            out.append(Reading(self.site, self.machine.id, "state", state, None, t))

    # -- state and time ---------------------------------------------------------------

    def _set_state(self, state: str, t: int) -> None:
        self.advance(t)
        self.state = state

    def advance(self, t: int) -> None:
        """Account the current state's time up to ``t`` into the windows it covers."""
        if self.since_ns is None:
            self.since_ns = t
            return
        if t <= self.since_ns:
            return
        start, self.since_ns = max(self.since_ns, t - MAX_SPAN_NS), t
        for kind in WINDOW_KINDS:
            for window, a, b in self._windows_covering(kind, start, t):
                if self.state == "running":
                    window.run_ns += self.calendar.planned_ns(a, b)

    def _windows_covering(self, kind: str, a: int, b: int,
                          ) -> list[tuple[WindowTotals, int, int]]:
        pieces = []
        if kind == "shift":
            spans = [(s, e) for _, s, e in self.calendar.shifts_between(a, b)]
        else:
            spans, cursor = [], a
            while cursor < b:
                span = (self.calendar.hour_of(cursor) if kind == "hour"
                        else self.calendar.day_of(cursor))
                spans.append(span)
                cursor = span[1]
        for s, e in spans:
            window = self.windows.get((kind, s))
            if window is None:
                window = self.windows[(kind, s)] = WindowTotals(kind, s, e)
            pieces.append((window, max(a, s), min(b, e)))
        return pieces

    def _at(self, t: int) -> list[WindowTotals]:
        """The windows that hold instant ``t``."""
        return [w for kind in WINDOW_KINDS for w, _, _ in self._windows_covering(kind, t, t + 1)
                if w.start_ns <= t < w.end_ns]

    def close_windows(self, now: int, points: list[Point], everything: bool = False) -> None:
        """Write the windows that ended before ``now`` (all of them if ``everything``)."""
        for key, window in sorted(self.windows.items(), key=lambda kv: kv[0][1]):
            if window.end_ns > now and not everything:
                continue
            # an open window counts its planned time only as far as it has gone
            planned = self.calendar.planned_ns(window.start_ns, min(window.end_ns, now))
            if planned:
                tags = self._tags(("window", window.kind))
                points.append(Point("oee", tags, tuple(window.factors(planned).items()),
                                    window.start_ns))
                points.append(Point("circularity", tags,
                                    tuple(window.circularity().items()), window.start_ns))
            if window.end_ns <= now:
                del self.windows[key]

    def _tags(self, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (("site", self.site), ("machine", self.machine.id),
                ("kind", self.machine.kind), *extra)

    # -- energy, material, parts, jobs ------------------------------------------------

    def _spent(self, kwh: float, since: int | None, t: int) -> None:
        """Energy used over [since, t), shared among the windows in proportion to time."""
        if kwh <= 0:
            return
        standby = self.state != "running"
        if since is not None and t - since > MAX_SPAN_NS:
            kwh *= MAX_SPAN_NS / (t - since)  # the share of the span that is accounted
            since = t - MAX_SPAN_NS
        if since is None or since >= t:
            shares = [(window, 1.0) for window in self._at(t)]
        else:
            shares = [(window, (b - a) / (t - since)) for kind in WINDOW_KINDS
                      for window, a, b in self._windows_covering(kind, since, t)]
        for window, share in shares:
            window.energy_kwh += kwh * share
            if standby:
                window.standby_kwh += kwh * share

    def _consume(self, grams: float, t: int, points: list[Point], scrap: bool = False) -> None:
        if grams <= 0:
            return
        self.consumed_g += grams
        for window in self._at(t):
            window.material_g += grams
            if scrap:
                window.scrap_g += grams
        points.append(Point("material", self._tags(("material", self.machine.material)),
                            (("consumed_g", self.consumed_g),), t))

    def _counter(self, signal: str, value: float, t: int, points: list[Point]) -> None:
        self.has_counters = True
        last = self.parts.get(signal)
        self.parts[signal] = value
        if last is None or signal == "parts_produced":
            return
        delta = value - last if value >= last else value
        if delta <= 0:
            return
        good = signal == "parts_good"
        for window in self._at(t):
            if good:
                window.good += delta
            else:
                window.scrap += delta
            window.ideal_s += delta * (self._ideal_cycle_s() or 0.0)
        self._consume(delta * self._stock_g(), t, points, scrap=not good)

    def _ideal_cycle_s(self) -> float | None:
        return self.machine.program_cycle_s.get(self.program, self.machine.ideal_cycle_s)

    def _stock_g(self) -> float:
        return self.machine.stock_g.get(self.program, self.machine.stock_g.get("*", 0.0))

    def _start_job(self, t: int) -> None:
        estimate = self.remaining[0] if self.remaining and self.remaining[1] == t else None
        self.job = OpenJob(t, self.program, self.energy_kwh() or 0.0, self.consumed_g,
                           self.parts.get("parts_good", 0.0), self.parts.get("parts_scrap", 0.0),
                           estimate or self._ideal_cycle_s())

    def _end_job(self, outcome: str, t: int, points: list[Point]) -> None:
        job, self.job = self.job, None
        if job is None:
            return  # an end without its start (the edge started mid-job): no honest record
        per_job = self.machine.parts_per_job
        if self.has_counters:
            good = self.parts.get("parts_good", 0.0) - job.good
            scrap = self.parts.get("parts_scrap", 0.0) - job.scrap
        else:
            good = per_job if outcome == "good" else 0.0
            scrap = per_job if outcome == "scrap" else 0.0
            for window in self._at(t):
                window.good += good
                window.scrap += scrap
                window.ideal_s += (job.ideal_s or 0.0) * (good + scrap) / max(per_job, 1)
            if self._stock_g() and not self.filament_mm:
                self._consume(self._stock_g(), t, points, scrap=outcome != "good")
        material = self.consumed_g - job.material_g
        parts = good + scrap
        if self.has_counters:  # the machine counts its parts: scrap is what its counter says
            scrap_g = material * scrap / parts if parts else (
                material if outcome != "good" else 0.0)
        else:  # a failed or aborted print is scrap as a whole
            scrap_g = material if outcome in ("scrap", "aborted") else 0.0
        if not self.has_counters and outcome in ("scrap", "aborted") and self.filament_mm:
            for window in self._at(t):
                window.scrap_g += scrap_g
        energy = (self.energy_kwh() or 0.0) - job.energy_kwh
        points.append(Point("job", self._tags(("outcome", outcome)), (
            ("job", job.name or self.program), ("duration_s", (t - job.start_ns) / NS),
            ("good_parts", good), ("scrap_parts", scrap), ("material_g", material),
            ("scrap_g", scrap_g), ("energy_kwh", energy),
            ("co2e_kg", energy * self.co2e_kg_per_kwh)), t))


class KpiEngine:
    def __init__(self, config: Config) -> None:
        calendar = config.calendar
        self.calendar = ShiftCalendar(
            config.site.timezone, list(calendar.weekdays),
            [(s.name, s.start, s.end) for s in calendar.shifts], list(calendar.holidays))
        self.machines = {m.id: MachineKpi(m, config.site.id, self.calendar,
                                          config.site.co2e_kg_per_kwh)
                         for m in config.machines}
        self.clock_ns = 0
        self._failures: list[tuple[Reading, str]] = []

    def process(self, readings: list[Reading]) -> tuple[list[Reading], list[Point]]:
        out: list[Reading] = []
        points: list[Point] = []
        for reading in readings:
            machine = self.machines.get(reading.machine)
            if machine is None:
                out.append(reading)
                continue
            try:
                machine.observe(reading, out, points)
            except Exception as exc:  # a KPI bug must not stop ingest: the reading is refused
                self._failures.append((reading, f"kpi: {describe(exc)}"))
                continue
            self.clock_ns = max(self.clock_ns, reading.time_ns)
        return out, points

    def take_failures(self) -> list[tuple[Reading, str]]:
        """Readings the KPI stage could not take since the last call, with the reason."""
        failures, self._failures = self._failures, []
        return failures

    def tick(self, now_ns: int, partial: bool = False) -> tuple[list[Reading], list[Point]]:
        """Time passes: silent machines go offline, ended windows are written; with
        ``partial`` the open ones too, as far as they go (the live service does, so that
        the current hour shows; a later write of the same window replaces it)."""
        readings: list[Reading] = []
        points: list[Point] = []
        for machine in self.machines.values():
            readings += machine.check_silence(now_ns)
            if machine.since_ns is not None:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, everything=partial)
        return readings, points

    def flush(self, now_ns: int) -> list[Point]:
        """At stop: the windows still open, as far as they go."""
        points: list[Point] = []
        for machine in self.machines.values():
            if machine.since_ns is not None:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, everything=True)
        return points
