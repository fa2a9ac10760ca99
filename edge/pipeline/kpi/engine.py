"""The KPI stage: canonical readings in, the same readings (energy made monotonic) plus
derived points out. Time comes from the readings (and ``tick``), never from the wall
clock, so a replay computes exactly what the live service did.

Per machine, small calculators each do one job and own one slice of the machine's
:class:`~edge.pipeline.kpi.memory.MachineMemory`: the state and the clock (state.py),
energy (energy.py), material (material.py), parts (parts.py), jobs (jobs.py), stops
(stops.py), windows (windows.py), what people say (operator.py) and alerts (alerts.py).
A reading goes to the calculator its signal names (``HANDLERS``). The service stores the
memory with the points it produced (``take_state``) and gives it back at start, so a
restart changes no figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from contract.eventlog import describe
from contract.reading import Reading
from edge.pipeline.kpi.air import AIR_READINGS, Air
from edge.pipeline.kpi.air_memory import AIR_KEY, dump_air
from edge.pipeline.kpi.alerts import Alert, MachineAlerts, label
from edge.pipeline.kpi.batch_memory import KEY, dump_batches
from edge.pipeline.kpi.batches import Batches
from edge.pipeline.kpi.calendar import ShiftCalendar
from edge.pipeline.kpi.context import NS, MachineContext, Point
from edge.pipeline.kpi.energy import Energy
from edge.pipeline.kpi.grid import GRID_SIGNALS, Grid
from edge.pipeline.kpi.grid_memory import GRID_KEY, dump_grid
from edge.pipeline.kpi.jobs import Jobs
from edge.pipeline.kpi.lifetime import Lifetime
from edge.pipeline.kpi.material import Material
from edge.pipeline.kpi.memory import EndedJob, MachineMemory, dump, load
from edge.pipeline.kpi.noise import Noise
from edge.pipeline.kpi.noise_guard import NoiseGuard
from edge.pipeline.kpi.operator import OPERATOR_FIELDS, OperatorInput
from edge.pipeline.kpi.parts import Parts
from edge.pipeline.kpi.peak_guard import PeakGuard
from edge.pipeline.kpi.periods import PeriodClock
from edge.pipeline.kpi.settings import KpiConfig
from edge.pipeline.kpi.site_parts import site_air, site_batches, site_grid
from edge.pipeline.kpi.state import MachineState
from edge.pipeline.kpi.stops import Stops
from edge.pipeline.kpi.tariffs import TariffClock
from edge.pipeline.kpi.windows import Windows
from edge.pipeline.settings import Machine


class MachineKpi:
    """One machine's calculators, wired to the slices of its memory."""

    def __init__(self, context: MachineContext, batches: Batches,
                 memory: MachineMemory | None = None, grid: Grid | None = None,
                 air: Air | None = None, *, raised: list[Alert]) -> None:
        """``batches``: the site's, which a batch on several machines shares; ``grid``:
        the site's grid connection, which counts every meter's kWh; ``air``: the site's
        air sensors, which give a job its fingerprint; ``raised``: where alerts go, the
        engine's one list (taking them then costs nothing per machine)."""
        machine = self.machine = context.machine
        self.context, self.batches, self.grid, self.air = context, batches, grid, air
        self.alerts: MachineAlerts | None = None
        self.raised = raised
        """Alerts that fired or resolved since the engine last took them."""
        m = self.m = memory or MachineMemory()
        self.lifetime = Lifetime(context, m.lifetime, lambda: self.material.name())
        self.windows = Windows(context, m.windows)
        self.noise = Noise(context, m.noise)
        self.stops = Stops(context, m.stops, m.clock, self.windows)
        self.state = MachineState(context, m.clock, self.windows, self.stops, self.lifetime)
        self.material = Material(context, m.material, m.jobs, self.windows, self.lifetime)
        self.parts = Parts(context, m.parts, m.jobs, self.windows, self.material)
        self.jobs = Jobs(context, m.jobs, m.energy, self.windows, self.material, self.parts,
                         self._job_ended, self.lifetime,
                         lambda job, points: batches.judged(machine.id, job, points), air)
        self.energy = Energy(context, m.energy, self.state, self.windows, self.jobs, m.alerts,
                             self.lifetime, None if grid is None else (
                                 lambda kwh, since, t: grid.spent(
                                     machine.id, kwh, since, t,
                                     m.jobs.open.name if m.jobs.open else "")))
        self.operator = OperatorInput(
            machine.id, self.jobs, self.stops, self.material, self.lifetime,
            self.state.advance, lambda said, t, points: batches.told(machine.id, said, t, points))
        self._handlers = {signal: handler(self) for signal, handler in HANDLERS.items()}
        for signal in self.lifetime.watched:
            self._handlers[signal] = self._watching(self._handlers.get(signal))
        if grid is not None and grid.meter == machine.id:
            for signal in METER_SIGNALS:
                self._handlers[signal] = self._heard(grid, self._handlers[signal])
        # the config wins over the memory for what the config says
        self.energy.take_config()
        self.windows.end_moved_shifts(m.clock.since_ns)
        if m.lifetime.since_ns:  # a component added to the config counts from now
            self.lifetime.seen(m.clock.last_seen_ns)

    def observe(self, r: Reading, out: list[Reading], points: list[Point]) -> None:
        """Take one reading: the KPI signals to their calculator, which says whether the
        reading passes on as it is; the rest passes on untouched."""
        if not self.m.lifetime.since_ns:
            self.lifetime.seen(r.time_ns)
        self.state.seen(r, out, points)
        handler = self._handlers.get(r.signal)
        if handler is None or handler(r, out, points):
            out.append(r)

    def check_silence(self, now_ns: int, points: list[Point]) -> list[Reading]:
        return self.state.check_silence(now_ns, points)

    def advance(self, t: int) -> None:
        self.state.advance(t)

    def close_windows(self, now: int, points: list[Point],
                      drafts: list[Point] | None = None) -> None:
        self.windows.close(now, points, drafts)

    def write_ongoing(self, now: int, points: list[Point]) -> None:
        """What is still going on, as far as it has gone: the stop, the lot's use."""
        self.stops.write_ongoing(now, points)
        self.material.write_ongoing(points)

    def check_alerts(self, now_ns: int, points: list[Point]) -> None:
        if self.alerts is not None:
            self.raise_alerts(self.alerts.check(self.m, now_ns), points)

    def _watching(self, inner: Handler | None) -> Handler:
        """A signal a component's condition reads: the time before it counted with the
        value it had, then the new value."""

        def take(r: Reading, out: list[Reading], points: list[Point]) -> bool:
            self.state.advance(r.time_ns)
            self.lifetime.level(r)
            self.lifetime.check(r.time_ns, points)
            return inner(r, out, points) if inner is not None else True

        return take

    def on_sound(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self.noise.on_sound(float(r.value), r.time_ns, points)
        return True

    def on_air(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        if self.air is not None and self.machine.kind == "sensor":
            self.air.reading(self.machine.id, r.signal, float(r.value), r.time_ns, points)
        return True

    def on_grid(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        """The grid meter's export and its own quarter and peak figures (stored too)."""
        return self.grid is None or self.grid.on_reading(r)

    @staticmethod
    def _heard(grid: Grid, inner: Handler) -> Handler:
        """The grid meter's reports, which tell how much of each quarter it counted."""

        def take(r: Reading, out: list[Reading], points: list[Point]) -> bool:
            grid.heard(r.time_ns)
            return inner(r, out, points)

        return take

    def _job_ended(self, job: EndedJob, points: list[Point]) -> None:
        self.batches.job_ended(self.machine.id, job, points)
        self.lifetime.job_ended(job.good)
        self.lifetime.check(job.end_ns, points)
        if self.alerts is not None:
            self.raise_alerts(self.alerts.job_ended(job, self.material.name()), points)

    def raise_alerts(self, alerts: list[Alert], points: list[Point]) -> None:
        for alert in alerts:
            points.append(Point("alert", self.context.tags(("rule", alert.rule)), (
                ("state", alert.state), ("message", alert.message)), alert.time_ns))
        self.raised.extend(alerts)


Handler = Callable[[Reading, list[Reading], list[Point]], bool]
HANDLERS: dict[str, Callable[[MachineKpi], Handler]] = {
    "state": lambda k: k.state.on_state,
    "energy_kwh": lambda k: k.energy.on_energy,
    "power_w": lambda k: k.energy.on_power,
    "filament_used_mm": lambda k: k.material.on_filament,
    "parts_produced": lambda k: k.parts.on_parts,
    "parts_good": lambda k: k.parts.on_parts,
    "parts_scrap": lambda k: k.parts.on_parts,
    "progress_pct": lambda k: k.jobs.on_progress,
    "job_name": lambda k: k.jobs.on_name,
    "remaining_time_s": lambda k: k.jobs.on_remaining,
    "job_event": lambda k: k.jobs.on_event,
    "job_outcome": lambda k: k.jobs.on_outcome,
    "action": lambda k: k.operator.on_action,
    **{signal: (lambda k: k.operator.on_said) for signal in OPERATOR_FIELDS},
    **{signal: (lambda k: k.on_grid) for signal in GRID_SIGNALS},
    "sound_dba": lambda k: k.on_sound,
    **{signal: (lambda k: k.on_air) for signal in AIR_READINGS},
}
"""Which calculator takes each KPI signal; a new KPI signal is a line here."""
METER_SIGNALS = ("energy_kwh", "energy_export_kwh", "power_w")
"""The grid meter's reports of what it counts."""


KPI_SIGNALS = frozenset(HANDLERS)
"""What :meth:`MachineKpi.observe` acts on; the rest (temperatures, layers) only passes,
and most readings are of the rest."""


class KpiEngine:
    def __init__(self, config: KpiConfig, memories: Mapping[str, bytes] | None = None) -> None:
        """``memories``: machine id -> what :meth:`take_state` gave for it, from the last
        run (:class:`~edge.pipeline.kpi.memory.StateRefused` when one does not read back)."""
        calendar = config.calendar
        self.calendar = ShiftCalendar(
            config.site.timezone, list(calendar.weekdays),
            [(s.name, s.start, s.end) for s in calendar.shifts], list(calendar.holidays),
            calendar.shift_breaks())
        memories = memories or {}
        self._raised: list[Alert] = []
        self.periods = PeriodClock(config.neighbours.periods, config.site.timezone)
        self.language = config.site.language
        self.batches = site_batches(config, memories.get(KEY))
        self.grid = site_grid(config, memories.get(GRID_KEY))
        self.air = site_air(config, memories.get(AIR_KEY))
        self._air_rules = [(i, r) for i, r in enumerate(config.alerts) if r.rule == "air"]
        self.machines = {
            m.id: MachineKpi(self._context(config, m), self.batches,
                             load(memories[m.id], f"machine {m.id}") if m.id in memories
                             else None, self.grid, self.air, raised=self._raised)
            for m in config.machines}
        for kpi in self.machines.values():
            kpi.noise.running = self.running_ids
        self.guard = self._peak_guard(config)
        self.noise_guard = self._noise_guard(config)
        self.clock_ns = max((k.m.clock.last_seen_ns for k in self.machines.values()), default=0)
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

    def _context(self, config: KpiConfig, machine: Machine) -> MachineContext:
        site = config.site
        return MachineContext(
            machine, site.id, self.calendar, site.co2e_kg_per_kwh,
            frozenset(config.operator.planned_stops), frozenset(config.operator.failure_stops),
            TariffClock(config.tariffs, site.timezone) if config.tariffs else None,
            site.labour_per_h, site.material_per_kg, self.periods)

    def _peak_guard(self, config: KpiConfig) -> PeakGuard | None:
        rules = [(i, rule) for i, rule in enumerate(config.alerts) if rule.rule == "peak"]
        if self.grid is None:
            return None
        machines = self.machines
        meter = machines[self.grid.meter].machine

        def drawing() -> dict[str, tuple[str, float]]:
            return {id: (label(kpi.machine), kpi.m.energy.power_w / 1000)
                    for id, kpi in machines.items() if kpi.m.energy.power_w is not None}

        return PeakGuard(rules, self.grid, label(meter), config.site.language,
                         config.grid.minimum_peak_kw, drawing)

    def _noise_guard(self, config: KpiConfig) -> NoiseGuard | None:
        rules = [(i, rule) for i, rule in enumerate(config.alerts) if rule.rule == "noise"]
        zone = ZoneInfo(config.site.timezone)
        return NoiseGuard(rules, config.site.language, self.running,
                          lambda t: datetime.fromtimestamp(t / NS, zone).strftime("%H:%M")
                          ) if rules else None

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
        state = {machine: dump(self.machines[machine].m) for machine in sorted(touched)}
        if self.batches.changed:
            self.batches.changed = False
            state[KEY] = dump_batches(self.batches.m)
        if self.grid is not None and self.grid.changed:
            self.grid.changed = False
            state[GRID_KEY] = dump_grid(self.grid.m)
        if self.air.changed:
            self.air.changed = False
            state[AIR_KEY] = dump_air(self.air.m)
        return state

    def whole_state(self) -> dict[str, bytes]:
        """Every machine's memory and the site's batches, changed or not."""
        grid = {} if self.grid is None else {GRID_KEY: dump_grid(self.grid.m)}
        return {**{machine: dump(kpi.m) for machine, kpi in self.machines.items()},
                KEY: dump_batches(self.batches.m), AIR_KEY: dump_air(self.air.m), **grid}

    def tick(self, now_ns: int, drafts: list[Point] | None = None, part: tuple[int, int] = (0, 1),
             ) -> tuple[list[Reading], list[Point]]:
        """Time passes: silent machines go offline, ended windows are written; into
        ``drafts`` the open windows and stops too, as far as they go (the live service
        asks, so that the current hour shows; the final write of each replaces them).
        ``part`` (k, n): only every n-th machine from the k-th, so that a thousand
        machines are not all ticked, drafted and committed in one burst."""
        readings: list[Reading] = []
        points: list[Point] = []
        k, n = part
        for machine in list(self.machines.values())[k::n]:
            readings += machine.check_silence(now_ns, points)
            if machine.m.clock.last_seen_ns:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, drafts)
                machine.lifetime.check(now_ns, points)
                machine.lifetime.hour_ended(now_ns, points)
                if drafts is not None:
                    machine.write_ongoing(now_ns, drafts)
                machine.check_alerts(now_ns, points)
                self._touched.add(machine.machine.id)
            if machine.m.noise.last_ns:
                self._noise(machine, now_ns, points)
        self._air(now_ns, points)
        if self.grid is not None:
            if self.guard is not None:
                self.machines[self.grid.meter].raise_alerts(
                    self.guard.check(now_ns, points), points)
            self.grid.settle(now_ns, points)
        return readings, points

    def _air(self, now_ns: int, points: list[Point]) -> None:
        self.air.tick(now_ns, points)
        if self._air_rules:
            for alert in self.air.check(self._air_rules, now_ns, self.language, self.running):
                self.machines[alert.machine].raise_alerts([alert], points)

    def running_ids(self) -> list[str]:
        return [id for id, k in self.machines.items() if k.m.clock.state == "running"]

    def running(self) -> list[str]:
        """How messages name each machine running now."""
        return [label(self.machines[id].machine) for id in self.running_ids()]

    def _noise(self, machine: MachineKpi, now_ns: int, points: list[Point]) -> None:
        ended = machine.noise.tick(now_ns, points)
        if self.noise_guard is not None:
            machine.raise_alerts(self.noise_guard.check(
                machine.machine, machine.noise, machine.m.alerts, ended, now_ns), points)

    def take_alerts(self) -> list[Alert]:
        """Alerts that fired or resolved since the last call, for whoever sends them (the
        live service; a replay never sends)."""
        raised = self._raised[:]
        self._raised.clear()
        return raised

    def flush(self, now_ns: int) -> tuple[list[Point], list[Point]]:
        """At stop: the windows that ended, and as drafts those still open, as far as
        they go."""
        points: list[Point] = []
        drafts: list[Point] = []
        for machine in self.machines.values():
            if machine.m.clock.last_seen_ns:
                machine.advance(now_ns)
                machine.close_windows(now_ns, points, drafts)
                machine.write_ongoing(now_ns, drafts)
                self._touched.add(machine.machine.id)
        return points, drafts
