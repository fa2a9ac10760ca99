"""The KPI stage: canonical readings in, the same readings (energy made monotonic) plus
derived points out. Time comes from the readings (and ``tick``), never from the wall
clock, so a replay computes exactly what the live service did.

Per machine it keeps a :class:`~edge.kpi.memory.MachineMemory`: the state and since
when, each meter's energy counter or power integral, the material consumed, the open job
and the windows. The service stores it with the points it produced (``take_state``) and
gives it back at start, so a restart changes no figure.

A window is written when it ends, and written again, complete, whenever a reading that
arrives later still changes it (up to ``LATE_NS`` after its end): InfluxDB keeps the last
write of a series and time, so every write must be the whole window, never the late part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from edge.config import Config, Machine
from edge.eventlog import describe
from edge.kpi.calendar import ShiftCalendar
from edge.kpi.energy_counter import EnergyCounter, PowerIntegrator
from edge.kpi.material import filament_grams
from edge.kpi.memory import UNKNOWN, MachineMemory, OpenJob, dump, load
from edge.kpi.oee import WindowTotals
from edge.reading import Reading
from edge.units import DECIMALS

NS = 1_000_000_000
WINDOW_KINDS = ("hour", "shift", "day")
MAX_SPAN_NS = 7 * 86400 * NS
"""The longest stretch of time one reading may account into windows: the live service
advances every machine each health interval, so only a reading after a long silence (or
a clock jump) spans more; the older part is left out rather than walked hour by hour."""
LATE_NS = 3600 * NS
"""How long after its end a window still takes late readings (and is written again)."""
KEEP_NS = 86400 * NS
"""How long a window is kept for a meter that has not reported since: its next report
shares its energy over the time since its last, which may go back that far. Energy older
than the windows kept is left out of the windows (it still counts for the energy series
and the job)."""


class Point(NamedTuple):
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, float | str], ...]
    time_ns: int


Figures = tuple[tuple[str, float], ...]


class MachineKpi:
    def __init__(self, machine: Machine, site: str, calendar: ShiftCalendar,
                 co2e_kg_per_kwh: float, memory: MachineMemory | None = None) -> None:
        self.machine, self.site, self.calendar = machine, site, calendar
        self.co2e_kg_per_kwh = co2e_kg_per_kwh
        self.m = memory or MachineMemory()
        self._written: dict[tuple[str, int], tuple[Figures, Figures]] = {}
        """What was last written of each ended window, so that it is written again only
        when a late reading changed it."""

    # -- readings ---------------------------------------------------------------------

    def observe(self, r: Reading, out: list[Reading], points: list[Point]) -> None:
        m = self.m
        t, signal, value = r.time_ns, r.signal, r.value
        m.last_seen_ns = max(m.last_seen_ns, t)
        if m.silenced is not None:
            previous, m.silenced = m.silenced, None
            if signal != "state":
                self._set_state(previous, t)
                out.append(Reading(self.site, self.machine.id, "state", previous, None, t))
        if signal == "state":
            if r.meter is None:
                m.device_states = True
            self._set_state(str(value), t)
        elif signal == "energy_kwh":
            meter = r.meter or self.machine.id
            counter = m.counters.get(meter)
            if counter is None:
                counter = m.counters[meter] = EnergyCounter(self.machine.max_power_w,
                                                            self.machine.counter_wrap_kwh)
            m.integrators.pop(meter, None)  # a meter with a counter is not integrated
            before, since = counter.total_kwh, counter.last_ns
            total = counter.update(float(value), t)
            if before is not None:  # a counter's first value is where it stands, not use
                self._spent(total - before, since, t)
            out.append(r._replace(value=round(total, DECIMALS)))
            return
        elif signal == "power_w":
            meter = r.meter or self.machine.id
            if meter not in m.counters:
                integrator = m.integrators.get(meter)
                if integrator is None:
                    integrator = m.integrators[meter] = PowerIntegrator()
                since, before = integrator.last_ns, integrator.total_kwh
                total = integrator.update(float(value), t)
                self._spent(total - before, since, t)
                if since is not None:  # by the second reading a counter would have shown itself
                    out.append(Reading(r.site, r.machine, "energy_kwh", round(total, DECIMALS),
                                       None, t, meter))
            self._power_state(float(value), t, out)
        elif signal == "filament_used_mm":
            used = float(value)
            delta = used - m.filament_mm if used >= m.filament_mm else used
            m.filament_mm = used
            machine = self.machine
            self._consume(filament_grams(delta, machine.material, machine.filament_diameter_mm,
                                         machine.density_g_cm3), t, points)
        elif signal in ("parts_produced", "parts_good", "parts_scrap"):
            self._counter(signal, float(value), t, points)
        elif signal == "job_name":
            self._named(str(value), t, points)
        elif signal == "remaining_time_s":
            m.remaining = (float(value), t)
            job = m.job
            if job is not None and job.ideal_s is None and float(value) > 0:
                job.ideal_s = (t - job.start_ns) / NS + float(value)
        elif signal == "job_event" and value == "start":
            self._start_job(t, points)
        elif signal == "job_outcome":
            self._end_job(str(value), t, points)
        out.append(r)

    def check_silence(self, now_ns: int) -> list[Reading]:
        """Offline after ``silence_s`` without a message (from when that passed, as far
        as time has been accounted); the state before is kept, for when the machine
        speaks again. A machine whose state was never known stays unknown."""
        m = self.m
        silence_ns = int(self.machine.silence_s * NS)
        if (not m.last_seen_ns or m.state in ("offline", UNKNOWN)
                or now_ns - m.last_seen_ns <= silence_ns):
            return []
        at = min(now_ns, max(m.last_seen_ns + silence_ns, m.since_ns or 0))
        m.silenced = m.state
        self._set_state("offline", at)
        return [Reading(self.site, self.machine.id, "state", "offline", None, at)]

    def _power_state(self, power_w: float, t: int, out: list[Reading]) -> None:
        thresholds = self.machine.power_thresholds
        if thresholds is None or self.m.device_states:
            return
        state = ("running" if power_w >= thresholds.running_w else
                 "idle" if power_w >= thresholds.idle_w and thresholds.idle_w > 0 else
                 "stopped")
        if state != self.m.state:
            self._set_state(state, t)
            out.append(Reading(self.site, self.machine.id, "state", state, None, t))

    # -- state and time ---------------------------------------------------------------

    def _set_state(self, state: str, t: int) -> None:
        self.advance(t)
        m = self.m
        if state != m.state:
            m.prior_state, m.state_ns = m.state, t
        m.state = state

    def advance(self, t: int) -> None:
        """Account the current state's time up to ``t`` into the windows it covers. A
        state that arrives after time has been accounted past it counts from there."""
        m = self.m
        if m.since_ns is None:
            m.since_ns = t
            return
        if t <= m.since_ns:
            return
        start, m.since_ns = max(m.since_ns, t - MAX_SPAN_NS, m.settled_ns), t
        if start >= t or m.state == UNKNOWN:
            return
        running = m.state == "running"
        for kind in WINDOW_KINDS:
            for window, a, b in self._windows_covering(kind, start, t):
                window.stated = True
                if running:
                    window.run_ns += self.calendar.planned_ns(a, b)

    def _windows_covering(self, kind: str, a: int, b: int,
                          ) -> list[tuple[WindowTotals, int, int]]:
        """The windows of ``kind`` over [a, b) and the part of it in each; windows
        already settled are not made again."""
        if kind == "shift":
            spans = [(s, e) for _, s, e in self.calendar.shifts_between(a, b)]
        else:
            spans, cursor = [], a
            while cursor < b:
                span = (self.calendar.hour_of(cursor) if kind == "hour"
                        else self.calendar.day_of(cursor))
                spans.append(span)
                cursor = span[1]
        windows = self.m.windows.get(kind)
        if windows is None:
            windows = self.m.windows[kind] = {}
        pieces = []
        for s, e in spans:
            if e <= self.m.settled_ns:
                continue
            window = windows.get(s)
            if window is None:
                window = windows[s] = WindowTotals(kind, s, e)
            pieces.append((window, max(a, s), min(b, e)))
        return pieces

    def _at(self, t: int) -> list[WindowTotals]:
        """The windows that hold instant ``t``."""
        return [w for kind in WINDOW_KINDS for w, _, _ in self._windows_covering(kind, t, t + 1)
                if w.start_ns <= t < w.end_ns]

    def close_windows(self, now: int, points: list[Point], everything: bool = False) -> None:
        """Write the windows that ended before ``now`` and those a late reading changed
        since (all open ones too if ``everything``, as far as they go); forget those that
        ended more than ``LATE_NS`` ago, unless a meter's next report may still reach
        them (up to ``KEEP_NS``)."""
        m = self.m
        reported = [c.last_ns for c in m.counters.values() if c.last_ns is not None]
        reported += [i.last_ns for i in m.integrators.values() if i.last_ns is not None]
        oldest = min(reported, default=now)  # no window it may still reach is forgotten
        settled = max(m.settled_ns, min(now - LATE_NS, max(now - KEEP_NS, oldest)))
        for windows in m.windows.values():
            for start in sorted(windows):
                window = windows[start]
                if window.end_ns <= now or everything:
                    self._write(window, now, points)
                if window.end_ns <= settled:
                    del windows[start]
                    self._written.pop((window.kind, start), None)
        m.settled_ns = settled

    def _write(self, window: WindowTotals, now: int, points: list[Point]) -> None:
        # an open window counts its planned time only as far as it has gone
        planned = self.calendar.planned_ns(window.start_ns, min(window.end_ns, now))
        oee: Figures = tuple(window.factors(planned).items()) if planned and window.stated else ()
        circularity: Figures = (tuple(window.circularity().items())
                                if planned or window.has_content() else ())
        if window.end_ns <= now:
            key = (window.kind, window.start_ns)
            if self._written.get(key) == (oee, circularity):
                return
            self._written[key] = (oee, circularity)
        tags = self._tags(("window", window.kind))
        if oee:
            points.append(Point("oee", tags, oee, window.start_ns))
        if circularity:
            points.append(Point("circularity", tags, circularity, window.start_ns))

    def _tags(self, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (("site", self.site), ("machine", self.machine.id),
                ("kind", self.machine.kind), *extra)

    # -- energy, material, parts, jobs ------------------------------------------------

    def _spent(self, kwh: float, since: int | None, t: int) -> None:
        """Energy used over [since, t): shared among the windows in proportion to time,
        and the open job's share is the part after its start."""
        if kwh <= 0:
            return
        m = self.m
        span = t - since if since is not None and since < t else 0
        job = m.job
        if job is not None and t > job.start_ns:
            job.energy_kwh += kwh * ((t - max(since or t, job.start_ns)) / span if span else 1.0)
        if span:
            a = max(t - span, t - MAX_SPAN_NS, m.settled_ns)
            shares = [(window, (e - b) / span) for kind in WINDOW_KINDS
                      for window, b, e in self._windows_covering(kind, a, t)] if a < t else []
        else:
            shares = [(window, 1.0) for window in self._at(t)]
        # the state the energy was used in: the one held up to t, whatever came at t
        held = m.prior_state if m.state_ns == t else m.state
        standby = held not in ("running", UNKNOWN)
        for window, share in shares:
            window.energy_kwh += kwh * share
            if standby:
                window.standby_kwh += kwh * share

    def _consume(self, grams: float, t: int, points: list[Point], scrap: bool = False) -> None:
        if grams <= 0:
            return
        m = self.m
        m.consumed_g += grams
        for window in self._at(t):
            window.material_g += grams
            if scrap:
                window.scrap_g += grams
        points.append(Point("material", self._tags(("material", self.machine.material)),
                            (("consumed_g", m.consumed_g),), t))

    def _counter(self, signal: str, value: float, t: int, points: list[Point]) -> None:
        m = self.m
        m.has_counters = True
        last = m.parts.get(signal)
        m.parts[signal] = value
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
        return self.machine.program_cycle_s.get(self.m.program, self.machine.ideal_cycle_s)

    def _stock_g(self) -> float:
        return self.machine.stock_g.get(self.m.program, self.machine.stock_g.get("*", 0.0))

    def _named(self, name: str, t: int, points: list[Point]) -> None:
        """A job or program name. It names the job that starts at the same instant
        (whether it comes before or after the start); a name that comes during a job
        names it at its end if it has none."""
        m = self.m
        m.program, m.program_ns = name, t
        job = m.job
        if job is None:
            return
        if t == job.start_ns:
            job.name = name
        elif t == m.start_seen_ns and name != job.name:
            # the start at this instant was taken for the open job's: it was another's
            self._end_job("unknown", t, points, replaced=True)
            self._open_job(t, name)

    def _start_job(self, t: int, points: list[Point]) -> None:
        m = self.m
        announced = m.program if m.program_ns > m.last_end_ns else ""
        if m.job is not None:
            if not announced or announced == m.job.name:
                m.start_seen_ns = t  # the same job announced again (a gateway restarted)
                return
            self._end_job("unknown", t, points, replaced=True)  # its end was missed
        self._open_job(t, announced)

    def _open_job(self, t: int, name: str) -> None:
        m = self.m
        estimate = m.remaining[0] if m.remaining and m.remaining[1] == t else None
        m.job = OpenJob(t, name, m.consumed_g, m.parts.get("parts_good", 0.0),
                        m.parts.get("parts_scrap", 0.0), estimate or self._ideal_cycle_s())

    def _end_job(self, outcome: str, t: int, points: list[Point], replaced: bool = False,
                 ) -> None:
        """Write the job; ``replaced``: its end was not seen, another job started."""
        m = self.m
        job, m.job = m.job, None
        m.last_end_ns = max(m.last_end_ns, t)
        if job is None:
            return  # an end without its start (the edge started mid-job): no honest record
        per_job = self.machine.parts_per_job
        if m.has_counters:
            good = m.parts.get("parts_good", 0.0) - job.good
            scrap = m.parts.get("parts_scrap", 0.0) - job.scrap
        else:
            good = per_job if outcome == "good" else 0.0
            scrap = per_job if outcome == "scrap" else 0.0
            for window in self._at(t):
                window.good += good
                window.scrap += scrap
                window.ideal_s += (job.ideal_s or 0.0) * (good + scrap) / max(per_job, 1)
            if self._stock_g() and not m.filament_mm:
                self._consume(self._stock_g(), t, points, scrap=outcome != "good")
        material = m.consumed_g - job.material_g
        parts = good + scrap
        if m.has_counters:  # the machine counts its parts: scrap is what its counter says
            scrap_g = material * scrap / parts if parts else (
                material if outcome in ("scrap", "aborted") else 0.0)
        else:  # a failed or aborted print is scrap as a whole
            scrap_g = material if outcome in ("scrap", "aborted") else 0.0
        if not m.has_counters and outcome in ("scrap", "aborted") and m.filament_mm:
            for window in self._at(t):
                window.scrap_g += scrap_g
        name = job.name or ("" if replaced or m.program_ns < job.start_ns else m.program)
        fields: list[tuple[str, float | str]] = [
            ("job", name), ("duration_s", (t - job.start_ns) / NS), ("good_parts", good),
            ("scrap_parts", scrap), ("material_g", material), ("scrap_g", scrap_g)]
        if m.counters or m.integrators:  # without a meter the energy is unknown, not 0
            fields += [("energy_kwh", job.energy_kwh),
                       ("co2e_kg", job.energy_kwh * self.co2e_kg_per_kwh)]
        points.append(Point("job", self._tags(("outcome", outcome)), tuple(fields), t))


class KpiEngine:
    def __init__(self, config: Config, memories: Mapping[str, bytes] | None = None) -> None:
        """``memories``: machine id -> what :meth:`take_state` gave for it, from the last
        run (:class:`~edge.kpi.memory.StateRefused` when one does not read back)."""
        calendar = config.calendar
        self.calendar = ShiftCalendar(
            config.site.timezone, list(calendar.weekdays),
            [(s.name, s.start, s.end) for s in calendar.shifts], list(calendar.holidays))
        memories = memories or {}
        self.machines = {
            m.id: MachineKpi(m, config.site.id, self.calendar, config.site.co2e_kg_per_kwh,
                             load(memories[m.id], f"machine {m.id}") if m.id in memories
                             else None)
            for m in config.machines}
        self.clock_ns = max((k.m.last_seen_ns for k in self.machines.values()), default=0)
        self._failures: list[tuple[Reading, str]] = []
        self._touched: set[str] = set()

    def process(self, readings: list[Reading]) -> tuple[list[Reading], list[Point]]:
        out: list[Reading] = []
        points: list[Point] = []
        touched = self._touched
        for reading in readings:
            machine = self.machines.get(reading.machine)
            if machine is None:
                out.append(reading)
                continue
            touched.add(reading.machine)
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

    def take_state(self) -> dict[str, bytes]:
        """The memory of each machine changed since the last call, to be stored with the
        points produced meanwhile."""
        touched, self._touched = self._touched, set()
        return {machine: dump(self.machines[machine].m) for machine in sorted(touched)}

    def tick(self, now_ns: int, partial: bool = False) -> tuple[list[Reading], list[Point]]:
        """Time passes: silent machines go offline, ended windows are written; with
        ``partial`` the open ones too, as far as they go (the live service does, so that
        the current hour shows; a later write of the same window replaces it)."""
        readings: list[Reading] = []
        points: list[Point] = []
        for machine in self.machines.values():
            readings += machine.check_silence(now_ns)
            if machine.m.last_seen_ns:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, everything=partial)
                self._touched.add(machine.machine.id)
        return readings, points

    def flush(self, now_ns: int) -> list[Point]:
        """At stop: the windows still open, as far as they go."""
        points: list[Point] = []
        for machine in self.machines.values():
            if machine.m.last_seen_ns:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, everything=True)
                self._touched.add(machine.machine.id)
        return points
