"""Energy per machine: a meter's counter made monotonic (edge/pipeline/kpi/energy_counter.py),
or its power integrated when it has no counter, shared among the windows, the open job
and the alerts that tell what standby cost."""

from __future__ import annotations

from collections.abc import Callable

from contract.reading import Reading
from contract.units import DECIMALS
from edge.pipeline.kpi.context import MachineContext, Point
from edge.pipeline.kpi.energy_counter import EnergyCounter, PowerIntegrator
from edge.pipeline.kpi.jobs import Jobs, share_after
from edge.pipeline.kpi.lifetime import Lifetime
from edge.pipeline.kpi.memory import UNKNOWN, AlertState, EnergyMemory
from edge.pipeline.kpi.state import MachineState
from edge.pipeline.kpi.windows import Windows


class Energy:
    def __init__(self, context: MachineContext, memory: EnergyMemory, state: MachineState,
                 windows: Windows, jobs: Jobs, alerts: dict[str, AlertState],
                 lifetime: Lifetime,
                 to_site: Callable[[float, int | None, int], None] | None = None) -> None:
        """``to_site``: the site's grid connection, which counts every meter's kWh in its
        quarters and bill."""
        self.context, self.m, self.state = context, memory, state
        self.windows, self.jobs, self.alerts, self.lifetime = windows, jobs, alerts, lifetime
        self.to_site = to_site

    def take_config(self) -> None:
        """The config wins over the memory for the meters' limits."""
        machine = self.context.machine
        for counter in self.m.counters.values():
            counter.max_power_w, counter.wrap_kwh = machine.max_power_w, machine.counter_wrap_kwh

    def metered(self) -> bool:
        return bool(self.m.counters or self.m.integrators)

    def on_energy(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m, t, machine = self.m, r.time_ns, self.context.machine
        meter = r.meter or machine.id
        counter = m.counters.get(meter)
        if counter is None:
            counter = m.counters[meter] = EnergyCounter(machine.max_power_w,
                                                        machine.counter_wrap_kwh)
        m.integrators.pop(meter, None)  # a meter with a counter is not integrated
        before, since = counter.total_kwh, counter.last_ns
        total = counter.update(float(r.value), t)
        if before is not None:  # a counter's first value is where it stands, not use
            self._spent(total - before, since, t, meter)
        out.append(r._replace(value=round(total, DECIMALS)))
        return False

    def on_power(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m, t, power_w = self.m, r.time_ns, float(r.value)
        m.power_w = power_w
        meter = r.meter or self.context.machine.id
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
        self.state.from_power(power_w, t, out, points)
        return True

    def _spent(self, kwh: float, since: int | None, t: int, meter: str) -> None:
        """Energy a meter counted over [since, t): shared among the windows in proportion
        to time (each hour keeps every meter's part apart, for ``energy_hourly``), and
        the open job's share is the part after its start."""
        if kwh <= 0:
            return
        span = t - since if since is not None and since < t else 0
        self.jobs.spent(kwh, since, t, span)
        self.lifetime.spent(kwh)
        if self.to_site is not None:
            self.to_site(kwh, since, t)
        for alert in self.alerts.values():  # what a standby alert tells: the energy since
            if alert.since_ns and t > alert.since_ns:
                alert.energy_kwh += kwh * share_after(alert.since_ns, since, t, span)
        shares = self.windows.shares(since, t)
        standby = self.state.held_at(t) not in ("running", UNKNOWN)
        for window, share in shares:
            window.energy_kwh += kwh * share
            if standby:
                window.standby_kwh += kwh * share
            if window.kind == "hour":
                window.meters[meter] = window.meters.get(meter, 0.0) + kwh * share

