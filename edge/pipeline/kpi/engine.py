"""The KPI stage: canonical readings in, the same readings (energy made monotonic) plus
derived points out. Time comes from the readings (and ``tick``), never from the wall
clock, so a replay computes exactly what the live service did.

Per machine it keeps a :class:`~edge.pipeline.kpi.memory.MachineMemory`: the state and since
when, each meter's energy counter or power integral, the material consumed, the open job
and the windows. The service stores it with the points it produced (``take_state``) and
gives it back at start, so a restart changes no figure.

A window is written when it ends, and written again, complete, whenever something that
arrives later still changes it (up to ``KEEP_NS`` after its end): InfluxDB keeps the last
write of a series and time, so every write must be the whole window, never the late part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from contract.errors import BadInput
from contract.eventlog import describe
from contract.reading import Reading
from contract.units import DECIMALS
from edge.config import Config, Machine
from edge.pipeline.kpi.alerts import Alert, MachineAlerts
from edge.pipeline.kpi.calendar import ShiftCalendar
from edge.pipeline.kpi.energy_counter import EnergyCounter, PowerIntegrator
from edge.pipeline.kpi.material import filament_grams
from edge.pipeline.kpi.memory import (
    UNKNOWN,
    EndedJob,
    Lot,
    MachineMemory,
    OpenJob,
    Stop,
    dump,
    load,
)
from edge.pipeline.kpi.oee import WindowTotals

NS = 1_000_000_000
WINDOW_KINDS = ("hour", "shift", "day")
MAX_SPAN_NS = 7 * 86400 * NS
"""The longest stretch of time one reading may account into windows: the live service
advances every machine each health interval, so only a reading after a long silence (or
a clock jump) spans more; the older part is left out rather than walked hour by hour."""
KEEP_NS = 86400 * NS
"""How long after its end a window still takes what comes late (a reading delayed, a
meter's report that covers the time before, a person's verdict the next morning) and is
written again. What comes later than that is left out of the windows (it still counts
for the energy series and the job)."""


class Point(NamedTuple):
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, float | str], ...]
    time_ns: int


Figures = tuple[tuple[str, float], ...]
OPERATOR_FIELDS = frozenset({
    "verdict_good", "verdict_scrap", "reason", "job", "by", "product", "from_s", "to_s", "lot",
    "lot_material", "recycled_pct", "supplier", "mass_g", "density_g_cm3", "remaining_g"})
"""Signals of operator input that come before its ``action`` (gateways/operator_input.py)."""
RECENT = 20
"""Ended jobs and stops kept for a verdict or a reason that comes later."""
NOT_RUNNING = frozenset({"idle", "stopped", "fault", "offline", "maintenance"})


class OperatorRefused(BadInput):
    """Operator input that cannot be applied (no such job, no stop, no lot loaded)."""


class MachineKpi:
    def __init__(self, machine: Machine, site: str, calendar: ShiftCalendar,
                 co2e_kg_per_kwh: float, memory: MachineMemory | None = None,
                 planned_stops: frozenset[str] = frozenset()) -> None:
        self.machine, self.site, self.calendar = machine, site, calendar
        self.co2e_kg_per_kwh = co2e_kg_per_kwh
        self.planned_stops = planned_stops
        self.alerts: MachineAlerts | None = None
        self.raised: list[Alert] = []
        """Alerts that fired or resolved since the engine last took them."""
        self.m = memory or MachineMemory()
        self._written: dict[tuple[str, int], tuple[Figures, Figures, Figures]] = {}
        """What was last written of each ended window, so that it is written again only
        when a late reading changed it."""
        self._said: list[Reading] = []
        """The operator input of the message being read, until its action."""
        self._take_config()

    def _take_config(self) -> None:
        """The config wins over the memory for what the config says: the meters' limits
        and the shifts' ends (a shift moved since the window opened ends where the
        calendar now says; one the calendar no longer has ends where time had come)."""
        m, machine = self.m, self.machine
        for counter in m.counters.values():
            counter.max_power_w, counter.wrap_kwh = machine.max_power_w, machine.counter_wrap_kwh
        for start, window in m.windows.get("shift", {}).items():
            ends = [e for _, s, e in self.calendar.shifts_between(start, start + 1) if s == start]
            window.end_ns = ends[0] if ends else max(start + 1, min(window.end_ns,
                                                                    m.since_ns or start))

    # -- readings ---------------------------------------------------------------------

    def observe(self, r: Reading, out: list[Reading], points: list[Point]) -> None:
        """Take one reading: the KPI signals to their handler (``HANDLERS``), which says
        whether the reading passes on as it is; the rest passes on untouched."""
        m, t = self.m, r.time_ns
        if t > m.last_seen_ns:
            m.last_seen_ns = t
        if m.silenced is not None:
            previous, m.silenced = m.silenced, None
            if r.signal != "state":
                self._set_state(previous, t, points)
                out.append(Reading(self.site, self.machine.id, "state", previous, None, t))
        handler = HANDLERS.get(r.signal)
        if handler is None or handler(self, r, out, points):
            out.append(r)

    def _on_state(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m = self.m
        if r.meter is not None and r.value == "offline":  # a meter gone, not the machine
            if m.state in (UNKNOWN, "offline"):
                return False  # what the machine does was never known: it stays unknown
            m.silenced = m.state  # back with the next message, as after silence
        elif r.meter is None:
            m.device_states = True
        self._set_state(str(r.value), r.time_ns, points)
        return True

    def _on_energy(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m, t = self.m, r.time_ns
        meter = r.meter or self.machine.id
        counter = m.counters.get(meter)
        if counter is None:
            counter = m.counters[meter] = EnergyCounter(self.machine.max_power_w,
                                                        self.machine.counter_wrap_kwh)
        m.integrators.pop(meter, None)  # a meter with a counter is not integrated
        before, since = counter.total_kwh, counter.last_ns
        total = counter.update(float(r.value), t)
        if before is not None:  # a counter's first value is where it stands, not use
            self._spent(total - before, since, t, meter)
        out.append(r._replace(value=round(total, DECIMALS)))
        return False

    def _on_power(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m, t, power_w = self.m, r.time_ns, float(r.value)
        m.power_w = power_w
        meter = r.meter or self.machine.id
        if meter not in m.counters:
            integrator = m.integrators.get(meter)
            if integrator is None:
                integrator = m.integrators[meter] = PowerIntegrator()
            since, before = integrator.last_ns, integrator.total_kwh
            total = integrator.update(power_w, t)
            self._spent(total - before, since, t, meter)
            if since is not None:  # by the second reading a counter would have shown itself
                out.append(Reading(r.site, r.machine, "energy_kwh", round(total, DECIMALS),
                                   None, t, meter))
        self._power_state(power_w, t, out, points)
        return True

    def _on_filament(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m, used = self.m, float(r.value)
        delta = used - m.filament_mm if used >= m.filament_mm else used
        m.filament_mm = used
        self._consume(self._filament_grams(delta), r.time_ns, points)
        return True

    def _on_parts(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._counter(r.signal, float(r.value), r.time_ns, points)
        return True

    def _on_progress(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        if self.m.job is not None:
            self.m.job.progress_pct = float(r.value)
        return True

    def _on_job_name(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._named(str(r.value), r.time_ns, points)
        return True

    def _on_remaining(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        t, left = r.time_ns, float(r.value)
        self.m.remaining = (left, t)
        job = self.m.job
        if job is not None and job.ideal_s is None and left > 0:
            job.ideal_s = (t - job.start_ns) / NS + left
        return True

    def _on_job_event(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        if r.value == "start":
            self._start_job(r.time_ns, points)
        return True

    def _on_outcome(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._end_job(str(r.value), r.time_ns, points)
        return True

    def _on_said(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._said.append(r)  # stored with its action, or not at all
        return False

    def _on_action(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        said, self._said = self._said, []
        self._operator(str(r.value), {x.signal: x.value for x in said}, r.time_ns, points)
        out.extend(said)
        return True

    def check_silence(self, now_ns: int, points: list[Point]) -> list[Reading]:
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
        self._set_state("offline", at, points)
        return [Reading(self.site, self.machine.id, "state", "offline", None, at)]

    def _power_state(self, power_w: float, t: int, out: list[Reading],
                     points: list[Point]) -> None:
        thresholds = self.machine.power_thresholds
        if thresholds is None or self.m.device_states:
            return
        state = ("running" if power_w >= thresholds.running_w else
                 "idle" if power_w >= thresholds.idle_w and thresholds.idle_w > 0 else
                 "stopped")
        if state != self.m.state:
            self._set_state(state, t, points)
            out.append(Reading(self.site, self.machine.id, "state", state, None, t))

    # -- state and time ---------------------------------------------------------------

    def _set_state(self, state: str, t: int, points: list[Point]) -> None:
        self.advance(t)
        m = self.m
        if state != m.state:
            m.prior_state, m.state_ns = m.state, t
        m.state = state
        if state in NOT_RUNNING and m.stop is None:
            m.stop = Stop(t)
        elif state == "running" and m.stop is not None:
            stop, m.stop = m.stop, None
            stop.end_ns = max(t, stop.start_ns)
            m.stops = [*m.stops, stop][-RECENT:]
            self._write_stop(stop, t, points)

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
        planned_stop = m.stop is not None and m.stop.reason in self.planned_stops
        for kind in WINDOW_KINDS:
            for window, a, b in self._windows_covering(kind, start, t):
                window.stated = True
                if running:
                    window.run_ns += self.calendar.planned_ns(a, b)
                elif planned_stop:
                    window.planned_down_ns += self.calendar.planned_ns(a, b)

    def _replan(self, stop: Stop, sign: int) -> None:
        """A stop's reason turned planned (``sign`` 1) or unplanned (-1): its time so far
        moves into or out of the planned downtime of the windows it covered."""
        end = stop.end_ns if stop.end_ns is not None else self.m.since_ns or stop.start_ns
        for kind in WINDOW_KINDS:
            for window, a, b in self._windows_covering(kind, stop.start_ns, end):
                window.planned_down_ns += sign * self.calendar.planned_ns(a, b)

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
        ended more than ``KEEP_NS`` ago."""
        m = self.m
        settled = max(m.settled_ns, now - KEEP_NS)
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
        # an open window counts its planned time only as far as it has gone; planned
        # stops are not planned busy time
        planned = max(0, self.calendar.planned_ns(window.start_ns, min(window.end_ns, now))
                      - window.planned_down_ns)
        oee: Figures = tuple(window.factors(planned).items()) if planned and window.stated else ()
        circularity: Figures = (tuple(window.circularity().items())
                                if planned or window.has_content() else ())
        hourly = tuple(sorted(window.meters.items()))
        if window.end_ns <= now:
            key = (window.kind, window.start_ns)
            if self._written.get(key) == (oee, circularity, hourly):
                return
            self._written[key] = (oee, circularity, hourly)
        tags = self._tags(("window", window.kind))
        if oee:
            points.append(Point("oee", tags, oee, window.start_ns))
        if circularity:
            points.append(Point("circularity", tags, circularity, window.start_ns))
        for meter, kwh in hourly:  # what a central store needs instead of raw energy points
            points.append(Point("energy_hourly", self._tags(("meter", meter)),
                                (("energy_kwh", kwh),), window.start_ns))

    def _tags(self, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (("site", self.site), ("machine", self.machine.id),
                ("kind", self.machine.kind), *extra)

    # -- energy, material, parts, jobs ------------------------------------------------

    def _spent(self, kwh: float, since: int | None, t: int, meter: str) -> None:
        """Energy a meter counted over [since, t): shared among the windows in proportion
        to time (each hour keeps every meter's part apart, for ``energy_hourly``), and
        the open job's share is the part after its start."""
        if kwh <= 0:
            return
        m = self.m
        span = t - since if since is not None and since < t else 0
        job = m.job
        if job is not None and t > job.start_ns:
            job.energy_kwh += kwh * _share_after(job.start_ns, since, t, span)
        for alert in m.alerts.values():  # what a standby alert tells: the energy since
            if alert.since_ns and t > alert.since_ns:
                alert.energy_kwh += kwh * _share_after(alert.since_ns, since, t, span)
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
            if window.kind == "hour":
                window.meters[meter] = window.meters.get(meter, 0.0) + kwh * share

    def _consume(self, grams: float, t: int, points: list[Point], scrap: bool = False) -> None:
        if grams <= 0:
            return
        m = self.m
        m.consumed_g += grams
        lot = m.lot
        recycled = grams * lot.recycled_pct / 100 if lot is not None else 0.0
        if lot is not None:
            lot.consumed_g += grams
            if m.job is not None:
                m.job.recycled_g += recycled
                m.job.lot = lot.lot
        for window in self._at(t):
            window.material_g += grams
            window.recycled_g += recycled
            if scrap:
                window.scrap_g += grams
        material = self._material()
        if not m.consumed_by and m.consumed_g > grams:  # a memory from before lots: all of
            m.consumed_by[self.machine.material] = m.consumed_g - grams  # it was its own
        total = m.consumed_by[material] = m.consumed_by.get(material, 0.0) + grams
        points.append(Point("material", self._tags(("material", material)),
                            (("consumed_g", total),), t))

    def _material(self) -> str:
        return self.m.lot.material if self.m.lot is not None else self.machine.material

    def _filament_grams(self, length_mm: float) -> float:
        machine, lot = self.machine, self.m.lot
        if lot is None:
            return filament_grams(length_mm, machine.material, machine.filament_diameter_mm,
                                  machine.density_g_cm3)
        return filament_grams(length_mm, lot.material, machine.filament_diameter_mm,
                              lot.density_g_cm3)

    def _counter(self, signal: str, value: float, t: int, points: list[Point]) -> None:
        """A part counter's increase (a counter that goes back was reset: it counts from
        0). Good and scrap counters count as they say; a total counter counts every part
        made, as good unless the machine has a good counter, and a reject counter beside
        a total moves its parts from good to scrap (good = total - rejects)."""
        m = self.m
        m.has_counters = True
        last = m.parts.get(signal)
        m.parts[signal] = value
        if last is None:
            return
        delta = value - last if value >= last else value
        if delta <= 0:
            return
        totals = "parts_produced" in m.parts and "parts_good" not in m.parts
        if signal == "parts_produced" and not totals:
            return  # good and scrap come from their own counters
        stock_g = delta * self._stock_g()
        for window in self._at(t):
            if signal == "parts_scrap":
                window.scrap += delta
                if totals:
                    window.good -= delta
                    window.scrap_g += stock_g
            else:
                window.good += delta
            if not (totals and signal == "parts_scrap"):  # a reject was counted as made
                window.ideal_s += delta * (self._ideal_cycle_s() or 0.0)
        if totals and signal == "parts_scrap":
            return  # its material was consumed when it was made
        self._consume(stock_g, t, points, scrap=signal == "parts_scrap")

    def _job_parts(self, job: OpenJob) -> tuple[float, float]:
        """Good and scrap parts of a job, from the counters the machine has."""
        parts = self.m.parts
        scrap = parts.get("parts_scrap", 0.0) - job.scrap
        if "parts_good" in parts or "parts_produced" not in parts:
            return parts.get("parts_good", 0.0) - job.good, scrap
        return parts["parts_produced"] - job.produced - scrap, scrap

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
        m.filament_mm = 0.0  # devices count a job's filament from its start
        estimate = m.remaining[0] if m.remaining and m.remaining[1] == t else None
        m.job = OpenJob(t, name, m.consumed_g, m.parts.get("parts_good", 0.0),
                        m.parts.get("parts_scrap", 0.0), estimate or self._ideal_cycle_s(),
                        produced=m.parts.get("parts_produced", 0.0))

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
            good, scrap = self._job_parts(job)
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
        ended = EndedJob(name, job.start_ns, t, outcome, good, scrap, material, scrap_g,
                         job.energy_kwh if m.counters or m.integrators else None,
                         job.recycled_g, job.lot, progress_pct=job.progress_pct)
        m.ended = [*m.ended, ended][-RECENT:]
        self._write_job(ended, points)
        if self.alerts is not None:
            self._raise(self.alerts.job_ended(ended, self._material()), points)

    def check_alerts(self, now_ns: int, points: list[Point]) -> None:
        if self.alerts is not None:
            self._raise(self.alerts.check(self.m, now_ns), points)

    def _raise(self, alerts: list[Alert], points: list[Point]) -> None:
        for alert in alerts:
            points.append(Point("alert", self._tags(("rule", alert.rule)), (
                ("state", alert.state), ("message", alert.message)), alert.time_ns))
        self.raised += alerts

    def _write_job(self, job: EndedJob, points: list[Point]) -> None:
        """The job's point, as first written or as a verdict changed it (same series and
        time: the tag ``outcome`` is what the device said and never changes)."""
        fields: list[tuple[str, float | str]] = [
            ("job", job.name), ("duration_s", (job.end_ns - job.start_ns) / NS),
            ("good_parts", job.good), ("scrap_parts", job.scrap),
            ("material_g", job.material_g), ("scrap_g", job.scrap_g)]
        if job.energy_kwh is not None:  # without a meter the energy is unknown, not 0
            fields += [("energy_kwh", job.energy_kwh),
                       ("co2e_kg", job.energy_kwh * self.co2e_kg_per_kwh)]
        if job.lot:
            fields += [("lot", job.lot), ("recycled_g", job.recycled_g)]
        if job.by or job.reason:
            fields += [("reason", job.reason), ("verdict_by", job.by)]
        if job.product:
            fields.append(("product", job.product))
        points.append(Point("job", self._tags(("outcome", job.outcome)), tuple(fields),
                            job.end_ns))

    # -- what people say --------------------------------------------------------------

    def _operator(self, action: str, said: dict[str, float | str], t: int,
                  points: list[Point]) -> None:
        if action == "verdict":
            self._verdict(said, points)
        elif action == "downtime":
            self._downtime(said, t, points)
        elif action == "load":
            self._load(said, t, points)
        elif action == "unload":
            self._unload(said, t, points)
        else:
            raise OperatorRefused(f"action: unknown action {action!r:.30}")

    def _verdict(self, said: dict[str, float | str], points: list[Point]) -> None:
        """The parts a person counted replace what the device inferred; the job and the
        windows it was counted in are written again, whole."""
        m = self.m
        name = str(said.get("job", ""))
        job = next((j for j in reversed(m.ended) if not name or j.name == name), None)
        if job is None:
            known = ", ".join(repr(j.name) for j in m.ended[-5:]) or "none has ended yet"
            raise OperatorRefused(f"verdict: job: no ended job {name!r:.60} on "
                                  f"{self.machine.id}; the last: {known}")
        good, scrap = float(said.get("verdict_good", 0.0)), float(said.get("verdict_scrap", 0.0))
        scrap_g = job.material_g * scrap / (good + scrap)
        for window in self._at(job.end_ns):
            window.good += good - job.good
            window.scrap += scrap - job.scrap
            window.scrap_g += scrap_g - job.scrap_g
        job.good, job.scrap, job.scrap_g = good, scrap, scrap_g
        job.reason, job.by = str(said.get("reason", "")), str(said.get("by", ""))
        job.product = str(said.get("product", job.product))
        self._write_job(job, points)
        reason = job.reason or "unspecified"
        for old in job.scrap_reasons:  # counted under another reason before: no more
            if old != reason:
                points.append(Point("scrap", self._tags(("reason", old)),
                                    (("scrap_parts", 0.0), ("scrap_g", 0.0)), job.end_ns))
        job.scrap_reasons = [reason]
        points.append(Point("scrap", self._tags(("reason", reason)),
                            (("scrap_parts", scrap), ("scrap_g", scrap_g),
                             ("job", job.name)), job.end_ns))

    def _downtime(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        """A reason for the stop in progress or the last one, or for every stop that
        began between ``from`` and ``to``."""
        m = self.m
        stops = [*m.stops, *([m.stop] if m.stop is not None else [])]
        if "from_s" in said:
            begin, end = float(said["from_s"]) * NS, float(said.get("to_s", 0.0)) * NS
            chosen = [stop for stop in stops if begin <= stop.start_ns < end]
        else:
            chosen = stops[-1:]
        if not chosen:
            raise OperatorRefused(f"downtime: {self.machine.id} has no stop "
                                  + ("that began between from and to" if "from_s" in said
                                     else "to give a reason for"))
        for stop in chosen:
            reason = str(said["reason"])
            was, now = stop.reason in self.planned_stops, reason in self.planned_stops
            if was != now:
                self._replan(stop, 1 if now else -1)
            stop.reason, stop.by = reason, str(said.get("by", ""))
            self._write_stop(stop, t, points)

    def _write_stop(self, stop: Stop, now: int, points: list[Point]) -> None:
        """The stop's ``downtime`` point, as far as it has gone; tagged by its reason, so
        the point under a reason it no longer has is written again with nothing."""
        end = stop.end_ns if stop.end_ns is not None else max(now, stop.start_ns)
        planned = stop.reason in self.planned_stops
        for old in stop.written:
            if old != stop.reason:
                points.append(Point("downtime", self._tags(("reason", old)), (
                    ("duration_s", 0.0), ("lost_s", 0.0)), stop.start_ns))
        stop.written = [stop.reason]
        points.append(Point("downtime", self._tags(("reason", stop.reason)), (
            ("duration_s", (end - stop.start_ns) / NS),
            ("lost_s", 0.0 if planned else self.calendar.planned_ns(stop.start_ns, end) / NS),
            ("planned", 1.0 if planned else 0.0), ("ongoing", 0.0 if stop.end_ns else 1.0),
            ("by", stop.by)), stop.start_ns))

    def _load(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        m = self.m
        if m.lot is not None:
            self._unload({}, t, points)  # loading another lot ends this one
        density = said.get("density_g_cm3")
        mass = said.get("mass_g")
        material = str(said["lot_material"])
        m.lot = Lot(str(said["lot"]), material.upper() if density is None else material,
                    float(said.get("recycled_pct", 0.0)), t, str(said.get("supplier", "")),
                    float(mass) if mass is not None else None,
                    float(density) if density is not None else None)
        self._write_lot(m.lot, None, points)

    def _unload(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        m = self.m
        lot = m.lot
        if lot is None:
            raise OperatorRefused(f"material: unload: no lot is loaded on {self.machine.id}")
        if "lot" in said and said["lot"] != lot.lot:
            raise OperatorRefused(f"material: lot: {said['lot']!r:.40} is not the lot "
                                  f"loaded on {self.machine.id} ({lot.lot!r})")
        m.lot = None
        remaining = said.get("remaining_g")
        self._write_lot(lot, float(remaining) if remaining is not None else None, points,
                        unloaded_ns=t)

    def _write_lot(self, lot: Lot, remaining_g: float | None, points: list[Point],
                   unloaded_ns: int | None = None) -> None:
        fields: list[tuple[str, float | str]] = [
            ("lot", lot.lot), ("material", lot.material), ("recycled_pct", lot.recycled_pct),
            ("consumed_g", lot.consumed_g),
            ("recycled_g", lot.consumed_g * lot.recycled_pct / 100)]
        if lot.supplier:
            fields.append(("supplier", lot.supplier))
        if lot.mass_g is not None:
            fields.append(("mass_g", lot.mass_g))
        if remaining_g is not None:
            fields.append(("remaining_g", remaining_g))
        if unloaded_ns is not None:
            fields.append(("loaded_s", (unloaded_ns - lot.loaded_ns) / NS))
        points.append(Point("material_lot", self._tags(), tuple(fields), lot.loaded_ns))

    def write_ongoing(self, now: int, points: list[Point]) -> None:
        """What is still going on, as far as it has gone: the stop, the lot's use."""
        if self.m.stop is not None:
            self._write_stop(self.m.stop, now, points)
        if self.m.lot is not None:
            self._write_lot(self.m.lot, None, points)


Handler = Callable[[MachineKpi, Reading, list[Reading], list[Point]], bool]
HANDLERS: dict[str, Handler] = {
    "state": MachineKpi._on_state, "energy_kwh": MachineKpi._on_energy,
    "power_w": MachineKpi._on_power, "filament_used_mm": MachineKpi._on_filament,
    "parts_produced": MachineKpi._on_parts, "parts_good": MachineKpi._on_parts,
    "parts_scrap": MachineKpi._on_parts, "progress_pct": MachineKpi._on_progress,
    "job_name": MachineKpi._on_job_name, "remaining_time_s": MachineKpi._on_remaining,
    "job_event": MachineKpi._on_job_event, "job_outcome": MachineKpi._on_outcome,
    "action": MachineKpi._on_action,
    **{signal: MachineKpi._on_said for signal in OPERATOR_FIELDS},
}
"""The KPI signals and what takes each; a new KPI signal is a handler and a line here."""
KPI_SIGNALS = frozenset(HANDLERS)
"""What :meth:`MachineKpi.observe` acts on; the rest (temperatures, layers) only passes,
and most readings are of the rest."""


def _share_after(start_ns: int, since: int | None, t: int, span: int) -> float:
    """The share of the span [since, t) that lies after ``start_ns``."""
    return (t - max(since or t, start_ns)) / span if span else 1.0


class KpiEngine:
    def __init__(self, config: Config, memories: Mapping[str, bytes] | None = None) -> None:
        """``memories``: machine id -> what :meth:`take_state` gave for it, from the last
        run (:class:`~edge.pipeline.kpi.memory.StateRefused` when one does not read back)."""
        calendar = config.calendar
        self.calendar = ShiftCalendar(
            config.site.timezone, list(calendar.weekdays),
            [(s.name, s.start, s.end) for s in calendar.shifts], list(calendar.holidays),
            calendar.shift_breaks())
        memories = memories or {}
        self.machines = {
            m.id: MachineKpi(m, config.site.id, self.calendar, config.site.co2e_kg_per_kwh,
                             load(memories[m.id], f"machine {m.id}") if m.id in memories
                             else None, frozenset(config.operator.planned_stops))
            for m in config.machines}
        self.clock_ns = max((k.m.last_seen_ns for k in self.machines.values()), default=0)
        zone = ZoneInfo(config.site.timezone)
        for kpi in self.machines.values():
            rules = [(i, rule) for i, rule in enumerate(config.alerts)
                     if rule.watches(kpi.machine)]
            if rules:
                kpi.alerts = MachineAlerts(
                    rules, kpi.machine, config.site.language,
                    config.site.co2e_kg_per_kwh, self.calendar.planned_ns,
                    lambda t: datetime.fromtimestamp(t / NS, zone).strftime("%H:%M"))
        self._failures: list[tuple[Reading, str]] = []
        self._touched: set[str] = set()

    def process(self, readings: list[Reading]) -> tuple[list[Reading], list[Point]]:
        out: list[Reading] = []
        points: list[Point] = []
        touched = self._touched
        machines = self.machines
        clock_ns = self.clock_ns
        for reading in readings:
            machine = machines.get(reading.machine)
            if machine is None:
                out.append(reading)
                continue
            touched.add(reading.machine)
            try:
                machine.observe(reading, out, points)
            except Exception as exc:  # a KPI bug must not stop ingest: the reading is refused
                self._failures.append((reading, f"kpi: {describe(exc)}"))
                continue
            if reading.time_ns > clock_ns:
                clock_ns = reading.time_ns
        self.clock_ns = clock_ns
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
            readings += machine.check_silence(now_ns, points)
            if machine.m.last_seen_ns:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, everything=partial)
                if partial:
                    machine.write_ongoing(now_ns, points)
                machine.check_alerts(now_ns, points)
                self._touched.add(machine.machine.id)
        return readings, points

    def take_alerts(self) -> list[Alert]:
        """Alerts that fired or resolved since the last call, for whoever sends them (the
        live service; a replay never sends)."""
        raised = []
        for machine in self.machines.values():
            raised += machine.raised
            machine.raised = []
        return raised

    def flush(self, now_ns: int) -> list[Point]:
        """At stop: the windows still open, as far as they go."""
        points: list[Point] = []
        for machine in self.machines.values():
            if machine.m.last_seen_ns:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, everything=True)
                machine.write_ongoing(now_ns, points)
                self._touched.add(machine.machine.id)
        return points
