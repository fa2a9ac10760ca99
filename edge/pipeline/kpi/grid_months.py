"""The site's months at the grid connection (docs/metrics.md, site energy): each
month's peak quarter and who made it, the rolling average of the last twelve monthly
peaks the capacity tariff bills, and the month's bill by band and machine; written, at
the month's start, after every quarter that settles."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson

from contract.errors import BadInput
from contract.grid_points import UNMETERED
from edge.pipeline.kpi.context import Point, Tags
from edge.pipeline.kpi.grid_memory import GridMemory, MonthPeak
from edge.pipeline.kpi.grid_settings import GridSettings
from edge.pipeline.kpi.quarters import local_iso, month_start

KEEP_MONTHS = 12


class GridMonths:
    def __init__(self, memory: GridMemory, site: str, zone: ZoneInfo, settings: GridSettings,
                 machines: list[str]) -> None:
        """``machines``: every metered machine but the grid meter (each has a share)."""
        self.m, self.site, self.zone = memory, site, zone
        self.settings, self.machines = settings, machines

    def month(self, month: str) -> MonthPeak:
        found = self.m.months.get(month)
        if found is None:
            found = self.m.months[month] = MonthPeak(month)
        return found

    def add_bill(self, month: str, machine: str, band: str, kwh: float,
                 price: float | None) -> None:
        row = self.month(month).bill.setdefault(machine, {}).setdefault(band, [0.0, 0.0])
        row[0] = (row[0] or 0.0) + kwh
        row[1] = None if price is None or row[1] is None else row[1] + kwh * price

    def quarter_settled(self, month: str, start: int, avg: float | None,
                        drew: dict[str, float], jobs: dict[str, list[str]],
                        points: list[Point]) -> None:
        """A quarter of ``month`` was written: it may be the month's new peak (only
        where the site drew: a quarter that gave more than it took is no peak)."""
        peak = self.month(month)
        if avg is not None and avg > (peak.peak_kw or 0.0):
            peak.peak_kw, peak.peak_ns, peak.jobs = avg, start, dict(jobs)
            peak.shares = {**{m: 0.0 for m in self.machines}, **drew,
                           UNMETERED: avg - sum(drew.values())}
            self._write_shares(peak, points)
        self._close_months(month)
        self._write_month(peak, points)

    def history(self, text: str, month: str) -> None:
        """The meter's own peaks of the months before ``month`` (JSON, month -> kW): the
        months the edge did not see itself count in the rolling average."""
        try:
            told = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise BadInput(f"peak_history: not JSON: {text[:60]!r}") from None
        if not isinstance(told, dict):
            raise BadInput("peak_history: expected an object, month -> kW")
        for past, kw in told.items():
            if (str(past) < month and past not in self.m.peaks
                    and past not in self.m.months and isinstance(kw, int | float)):
                self.m.peaks[str(past)] = max(float(kw), self.settings.minimum_peak_kw)
        for old in sorted(self.m.peaks)[:-KEEP_MONTHS]:
            del self.m.peaks[old]

    def rolling(self, peak: MonthPeak) -> tuple[float, float, int]:
        """The month's billed peak, the rolling average and how many months it has."""
        billed = max(peak.peak_kw or 0.0, self.settings.minimum_peak_kw)
        before = [kw for month, kw in sorted(self.m.peaks.items()) if month < peak.month]
        months = [*before[-(KEEP_MONTHS - 1):], billed]
        return billed, sum(months) / len(months), len(months)

    def _close_months(self, month: str) -> None:
        """A quarter of a later month settled: the months before it are over."""
        for ended in [m for m in self.m.months if m < month]:
            over = self.m.months.pop(ended)
            if over.peak_kw is not None:
                self.m.peaks[ended] = max(over.peak_kw, self.settings.minimum_peak_kw)
        for old in sorted(self.m.peaks)[:-KEEP_MONTHS]:
            del self.m.peaks[old]

    def _write_month(self, peak: MonthPeak, points: list[Point]) -> None:
        at = month_start(peak.month, self.zone)
        fields: list[tuple[str, float | str]] = [("late_kwh", peak.late_kwh)]
        if peak.peak_kw is not None:
            billed, rolling, months = self.rolling(peak)
            fields += [("peak_kw", peak.peak_kw),
                       ("peak_start", local_iso(peak.peak_ns, self.zone)),
                       ("billed_kw", billed), ("rolling_kw", rolling), ("months", months)]
            price = self.settings.capacity_eur_per_kw_year
            if price is not None:
                fields.append(("capacity_eur", rolling * price / 12))
            if peak.meter_peak_kw is not None:
                fields += [("meter_peak_kw", peak.meter_peak_kw),
                           ("meter_diff_kw", peak.peak_kw - peak.meter_peak_kw)]
        if peak.meter_peak_ns:
            fields.append(("meter_peak_at", local_iso(peak.meter_peak_ns, self.zone)))
        points.append(Point("peak", self._tags(), tuple(fields), at))
        for machine, bands in sorted(peak.bill.items()):
            for band, (kwh, eur) in sorted(bands.items()):
                bill: list[tuple[str, float | str]] = [("kwh", kwh or 0.0)]
                if eur is not None:
                    bill.append(("eur", eur))
                points.append(Point("energy_bill", self._tags(
                    ("machine", machine), ("band", band)), tuple(bill), at))


    def _write_shares(self, peak: MonthPeak, points: list[Point]) -> None:
        at = month_start(peak.month, self.zone)
        for machine, kw in sorted(peak.shares.items()):
            points.append(Point("peak_share", self._tags(("machine", machine)), (
                ("kw", kw), ("jobs", ", ".join(peak.jobs.get(machine, [])))), at))

    def _tags(self, *extra: tuple[str, str]) -> Tags:
        return (("site", self.site), *extra)
