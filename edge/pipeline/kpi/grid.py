"""The site's grid connection (docs/metrics.md, site energy): the demand of every clock
quarter at the grid meter, what each metered machine drew in it, the month's peak and
the twelve months' rolling average of the capacity tariff, and the month's bill by
tariff band and machine.

Every machine's energy comes here as its meter counted it (over [since, t), spread
evenly, cut at quarter edges); the grid meter's is the site's import, and its export
counter the energy sent back. A quarter is written once ``settle_s`` have passed after
its end, so the plugs that report every few minutes have counted it too.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from contract.grid_points import INJECTION
from contract.reading import Reading
from edge.pipeline.kpi.context import Point, Tags
from edge.pipeline.kpi.energy_counter import EnergyCounter
from edge.pipeline.kpi.grid_memory import GridMemory, Quarter
from edge.pipeline.kpi.grid_months import GridMonths
from edge.pipeline.kpi.grid_settings import GridSettings
from edge.pipeline.kpi.quarters import (
    NS,
    QUARTER_NS,
    QUARTERS_PER_H,
    month_of,
    quarter_start,
)
from edge.pipeline.kpi.tariffs import TariffClock

GRID_SIGNALS = ("energy_export_kwh", "power_export_w", "demand_kw", "month_peak_kw",
                "month_peak_at_s", "peak_history")
"""What the grid meter says besides its import (which its machine's energy counts)."""
NO_BAND = "none"
"""The ``band`` of energy no ``[[tariffs]]`` band prices."""
Adder = Callable[[Quarter, float, int, int], None]
"""Where a quarter's part of a meter's kWh over [at, until) goes."""
COMPLETE = 0.99
"""A quarter the grid meter counted less of than this is written but sets no peak."""


class Grid:
    def __init__(self, memory: GridMemory, site: str, meter: str, timezone: str,
                 settings: GridSettings, tariffs: TariffClock | None,
                 machines: list[str]) -> None:
        self.m, self.site, self.meter, self.zone = memory, site, meter, ZoneInfo(timezone)
        self.settings, self.tariffs = settings, tariffs
        self.months = GridMonths(memory, site, self.zone, settings, machines)
        self.changed = False
        self._span = (0, 0, "")
        """The quarter last found: [start, end) and its month."""

    def spent(self, machine: str, kwh: float, since: int | None, t: int, job: str) -> None:
        """A meter counted ``kwh`` over [since, t): to the bill and the quarters."""
        self.changed = True
        self._bill(machine, kwh, since, t)
        if machine == self.meter:
            self._to_quarters(kwh, since, t, self._imported)
        else:
            self._to_quarters(kwh, since, t, lambda q, part, _, __: _drew(q, machine, part,
                                                                         job))

    def on_reading(self, r: Reading) -> bool:
        """The grid meter's export counter and its own figures; other machines' pass."""
        if r.machine != self.meter:
            return True
        self.changed = True
        if isinstance(r.value, str):
            if r.signal == "peak_history":
                self.months.history(r.value, self._quarter(r.time_ns)[2])
            return True
        if r.signal == "energy_export_kwh":
            self._exported(float(r.value), r.time_ns)
        elif r.signal == "power_export_w":
            self.m.export_w = float(r.value)
        elif r.signal == "demand_kw":
            start = self._quarter(r.time_ns)[0]
            if start + QUARTER_NS > self.m.settled_ns:
                self.m.quarters.setdefault(start, Quarter(start)).meter_avg_kw = float(r.value)
        elif r.signal == "month_peak_kw":
            self.months.month(self._quarter(r.time_ns)[2]).meter_peak_kw = float(r.value)
        elif r.signal == "month_peak_at_s":
            self.months.month(self._quarter(r.time_ns)[2]).meter_peak_ns = int(float(r.value) * NS)
        return True

    def settle(self, now_ns: int, points: list[Point]) -> None:
        """Write the quarters that ended ``settle_s`` ago."""
        due = now_ns - int(self.settings.settle_s * NS)
        for start in sorted(s for s in self.m.quarters if s + QUARTER_NS <= due):
            self._write_quarter(self.m.quarters.pop(start), points)
            self.m.settled_ns = max(self.m.settled_ns, start + QUARTER_NS)
            self.changed = True

    def quarter_of(self, t_ns: int) -> int:
        return self._quarter(t_ns)[0]

    def month_peak(self, t_ns: int) -> float | None:
        """The month's peak so far: of the quarters written, and of those that ended
        before ``t_ns`` and wait to settle, as far as counted."""
        start, _, month = self._quarter(t_ns)
        written = self.m.months.get(month)
        found = [q.import_kwh - q.export_kwh for s, q in self.m.quarters.items()
                 if s < start and q.counted_ns >= COMPLETE * QUARTER_NS
                 and month_of(s, self.zone) == month]
        peaks = [kwh * QUARTERS_PER_H for kwh in found]
        if written is not None and written.peak_kw is not None:
            peaks.append(written.peak_kw)
        return max(peaks, default=None)

    def _quarter(self, t_ns: int) -> tuple[int, int, str]:
        if not self._span[0] <= t_ns < self._span[1]:
            start = quarter_start(t_ns, self.zone)
            self._span = (start, start + QUARTER_NS, month_of(start, self.zone))
        return self._span

    def _to_quarters(self, kwh: float, since: int | None, t: int, add: Adder) -> None:
        """``kwh`` spread evenly over [since, t), cut at quarter edges."""
        if since is None or since >= t:
            since = t - 1
        at = since
        while at < t:
            start, end, month = self._quarter(at)
            until = min(end, t)
            part = kwh * (until - at) / (t - since)
            if end <= self.m.settled_ns:
                self.months.month(month).late_kwh += part
            else:
                add(self.m.quarters.setdefault(start, Quarter(start)), part, at, until)
            at = until

    def heard(self, t: int) -> None:
        """The grid meter reported at ``t``: the time since its last report is counted,
        unless it was silent longer than a quarter (what it counted then is spread
        evenly, a guess)."""
        last = self.m.heard_ns
        if last and 0 < t - last <= QUARTER_NS:
            def add(quarter: Quarter, part: float, at: int, until: int) -> None:
                quarter.counted_ns += until - at
                quarter.until_ns = max(quarter.until_ns, until)

            self._to_quarters(0.0, last, t, add)
        self.m.heard_ns = max(last, t)

    def _imported(self, quarter: Quarter, kwh: float, at: int, until: int) -> None:
        quarter.import_kwh += kwh

    def _exported(self, raw_kwh: float, t: int) -> None:
        counter = self.m.export
        if counter is None:
            counter = self.m.export = EnergyCounter()
        before, since = counter.total_kwh, counter.last_ns
        total = counter.update(raw_kwh, t)
        if before is None or total <= before:
            return
        kwh = total - before
        self._bill(self.meter, kwh, since, t, INJECTION)

        def add(quarter: Quarter, part: float, at: int, until: int) -> None:
            quarter.export_kwh += part

        self._to_quarters(kwh, since, t, add)

    def _bill(self, machine: str, kwh: float, since: int | None, t: int,
              band: str | None = None) -> None:
        if band == INJECTION:
            price = self.settings.injection_eur_per_kwh
            self.months.add_bill(self._quarter(t)[2], machine, band, kwh,
                           None if price is None else -price)
            return
        if self.tariffs is None:
            self.months.add_bill(self._quarter(t)[2], machine, NO_BAND, kwh, None)
            return
        for segment in self.tariffs.segments(kwh, since if since is not None else t, t):
            tariff = segment.band
            self.months.add_bill(self._quarter(segment.start_ns)[2], machine,
                           NO_BAND if tariff is None else tariff.name, segment.kwh,
                           None if tariff is None else tariff.eur_per_kwh)

    def _write_quarter(self, q: Quarter, points: list[Point]) -> None:
        start, month = q.start_ns, self._quarter(q.start_ns)[2]
        complete = q.counted_ns >= COMPLETE * QUARTER_NS
        avg = (q.import_kwh - q.export_kwh) * QUARTERS_PER_H if complete else None
        drew = {machine: kwh * QUARTERS_PER_H for machine, kwh in sorted(q.machines.items())}
        fields: list[tuple[str, float | str]] = [
            ("import_kwh", q.import_kwh), ("export_kwh", q.export_kwh),
            ("covered", q.counted_ns / QUARTER_NS)]
        if avg is not None:
            fields += [("avg_kw", avg), ("unmetered_kw", avg - sum(drew.values()))]
            if q.meter_avg_kw is not None:
                fields += [("meter_avg_kw", q.meter_avg_kw),
                           ("meter_diff_kw", avg - q.meter_avg_kw)]
        points.append(Point("demand", self._tags(), tuple(fields), start))
        for machine, kw in drew.items():
            share: list[tuple[str, float | str]] = [("kw", kw), ("jobs", ", ".join(
                q.jobs.get(machine, [])))]
            if avg is not None and avg > 0:
                share.append(("share", kw / avg))
            points.append(Point("demand_share", self._tags(("machine", machine)),
                                tuple(share), start))
        self.months.quarter_settled(month, start, avg, drew, q.jobs, points)

    def _tags(self, *extra: tuple[str, str]) -> Tags:
        return (("site", self.site), *extra)


def _drew(quarter: Quarter, machine: str, kwh: float, job: str) -> None:
    quarter.machines[machine] = quarter.machines.get(machine, 0.0) + kwh
    if job:
        jobs = quarter.jobs.setdefault(machine, [])
        if job not in jobs:
            jobs.append(job)
