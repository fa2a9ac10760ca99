"""The monthly report's numbers, from KPI points alone (docs/report.md).

Everything here is a sum or a ratio of sums over the points the edge wrote: hourly
``circularity`` windows, daily ``oee`` windows, ``job``, ``downtime``, ``scrap`` and
``material_lot`` points. The same rows come from InfluxDB or from a replayed recording,
so the tests can check every figure against the points themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from circlemade.report.batches import batches, series
from circlemade.report.neighbours import cohabitation
from circlemade.report.site_energy import site_energy
from edge.pipeline.kpi.settings import Product

Row = dict[str, Any]
"""One point: its tags and fields by name, and ``time`` (ns)."""
MEASUREMENTS = ("circularity", "oee", "job", "downtime", "scrap", "material_lot",
                "lifetime", "maintenance", "reliability", "batch", "learning", "readiness",
                "peak", "peak_share", "energy_bill", "noise")
"""What the report reads."""
NO_LOT = "(no lot)"


def month_bounds(month: str, timezone: str) -> tuple[int, int]:
    """[start, end) of ``2026-11`` in the site's time zone, in ns."""
    zone = ZoneInfo(timezone)
    start = datetime.fromisoformat(month + "-01").replace(tzinfo=zone)
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return int(start.timestamp()) * 10**9, int(following.timestamp()) * 10**9


def previous(month: str) -> str:
    """``2026-11`` -> ``2026-10``."""
    first = datetime.fromisoformat(month + "-01")
    return (first - timedelta(days=1)).strftime("%Y-%m")


def product_of(job: str, products: Sequence[Product], told: str = "") -> str:
    """What a person said the job made, else the configured product whose pattern the
    job's name matches, else the name without its file extension."""
    if told:
        return told
    for product in products:
        if any(fnmatchcase(job, pattern) for pattern in product.jobs):
            return product.name
    return PurePosixPath(job).stem or job


@dataclass
class MachineEnergy:
    machine: str
    kind: str
    energy_kwh: float = 0.0
    standby_kwh: float = 0.0

    @property
    def running_kwh(self) -> float:
        return self.energy_kwh - self.standby_kwh


@dataclass
class Amounts:
    """Parts and grams, summed from points that carry them (windows, jobs)."""

    good_parts: float = 0.0
    scrap_parts: float = 0.0
    material_g: float = 0.0
    scrap_g: float = 0.0
    recycled_g: float = 0.0

    def add(self, row: Row) -> None:
        self.good_parts += row.get("good_parts", 0.0)
        self.scrap_parts += row.get("scrap_parts", 0.0)
        self.material_g += row.get("material_g", 0.0)
        self.scrap_g += row.get("scrap_g", 0.0)
        self.recycled_g += row.get("recycled_g", 0.0)


@dataclass(kw_only=True)
class MachineFigures(Amounts):
    """A machine's month: parts, material, scrap, OEE."""

    machine: str
    kind: str
    run_s: float = 0.0
    planned_s: float = 0.0
    performance: list[float] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)

    @property
    def availability(self) -> float | None:
        return self.run_s / self.planned_s if self.planned_s else None

    @property
    def mean_performance(self) -> float | None:
        return sum(self.performance) / len(self.performance) if self.performance else None

    @property
    def mean_quality(self) -> float | None:
        return sum(self.quality) / len(self.quality) if self.quality else None

    @property
    def oee(self) -> float | None:
        factors = (self.availability, self.mean_performance, self.mean_quality)
        if any(f is None for f in factors):
            return None
        a, p, q = factors
        assert a is not None and p is not None and q is not None
        return a * p * q


@dataclass(kw_only=True)
class ProductFigures(Amounts):
    product: str
    jobs: int = 0
    energy_kwh: float = 0.0

    @property
    def parts(self) -> float:
        return self.good_parts + self.scrap_parts

    def co2e_kg(self, factor: float) -> float:
        return self.energy_kwh * factor

    def per_good_part(self, amount: float) -> float | None:
        return amount / self.good_parts if self.good_parts else None


@dataclass
class MachineLife:
    """A machine's month for its longer life: what it did (from its lifetime counters),
    the maintenance people recorded, its failures and repairs (ISO 22400-2)."""

    machine: str
    run_h: float = 0.0
    powered_h: float = 0.0
    jobs: float = 0.0
    kwh: float = 0.0
    run_h_total: float = 0.0
    """Since the edge first saw it."""
    maintenance: list[str] = field(default_factory=list)
    """"<component> <action>" in the order they were done."""
    failures: float = 0.0
    operating_s: float = 0.0
    repairs: float = 0.0
    repair_s: float = 0.0

    @property
    def mtbf_s(self) -> float | None:
        return self.operating_s / self.failures if self.failures else None

    @property
    def mttr_s(self) -> float | None:
        return self.repair_s / self.repairs if self.repairs else None


COUNTED = ("run_h", "powered_h", "jobs", "kwh")
"""The lifetime counters the report shows for the month."""


def machine_life(rows: dict[str, list[Row]], site: str, start: int, end: int,
                 ) -> dict[str, MachineLife]:
    """Each machine's month: a counter's month is its last value in the month less its
    last value before (0 for a machine the edge first saw this month)."""
    lives: dict[str, MachineLife] = {}
    counters = sorted((row for row in rows.get("lifetime", [])
                       if row.get("site") == site and row.get("component") == "machine"
                       and row["time"] < end), key=lambda row: row["time"])
    before: dict[str, Row] = {}
    last: dict[str, Row] = {}
    for row in counters:
        (before if row["time"] < start else last)[row["machine"]] = row
    for machine, row in last.items():
        life = lives.setdefault(machine, MachineLife(machine))
        earlier = before.get(machine, {})
        for name in COUNTED:
            setattr(life, name, row.get(name, 0.0) - earlier.get(name, 0.0))
        life.run_h_total = row.get("run_h", 0.0)
    for row in sorted(rows.get("maintenance", []), key=lambda row: row["time"]):
        if row.get("site") == site and start <= row["time"] < end:
            lives.setdefault(row["machine"], MachineLife(row["machine"])).maintenance.append(
                f"{row.get('component', '')} {row.get('action', '')}")
    for row in rows.get("reliability", []):
        if row.get("site") == site and row.get("window") == "day" and start <= row["time"] < end:
            life = lives.setdefault(row["machine"], MachineLife(row["machine"]))
            for name in ("failures", "operating_s", "repairs", "repair_s"):
                setattr(life, name, getattr(life, name) + row.get(name, 0.0))
    return lives


@dataclass
class SiteMonth:
    """One site's month, every table of the report."""

    site: str
    month: str
    co2e_kg_per_kwh: float
    energy: dict[str, MachineEnergy] = field(default_factory=dict)
    machines: dict[str, MachineFigures] = field(default_factory=dict)
    lots: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(material, lot) -> [grams used by jobs, recycled grams]."""
    scrap_reasons: dict[str, list[float]] = field(default_factory=dict)
    """reason -> [scrap parts, scrap grams], as people gave them."""
    losses: dict[str, list[float]] = field(default_factory=dict)
    """stop reason -> [stops, planned seconds lost]."""
    jobs: dict[str, int] = field(default_factory=dict)
    """outcome -> jobs."""
    products: dict[str, ProductFigures] = field(default_factory=dict)
    life: dict[str, MachineLife] = field(default_factory=dict)
    batches: list[Row] = field(default_factory=list)
    """The batches that started in the month (docs/metrics.md, batches)."""
    series: list[Row] = field(default_factory=list)
    """Per product, its learning curve and readiness card."""
    site_energy: dict[str, list[Row]] = field(default_factory=dict)
    """The month's peak, who made it and the bill (docs/metrics.md, site energy)."""
    cohabitation: dict[str, list[Row]] = field(default_factory=dict)
    """Noise by period, the machines in its minutes over, fingerprints by material."""

    @property
    def energy_kwh(self) -> float:
        return sum(e.energy_kwh for e in self.energy.values())

    @property
    def standby_kwh(self) -> float:
        return sum(e.standby_kwh for e in self.energy.values())

    def total(self, name: str) -> float:
        """A machine figure summed over the site."""
        return float(sum(getattr(m, name) for m in self.machines.values()))

    def share(self, part: str, whole: str) -> float | None:
        denominator = self.total(whole)
        return self.total(part) / denominator if denominator else None

    @property
    def availability(self) -> float | None:
        return self.share("run_s", "planned_s")

    @property
    def oee(self) -> float | None:
        """Planned-time weighted over the machines with an OEE."""
        rated = [(m.oee, m.planned_s) for m in self.machines.values() if m.oee is not None]
        planned = sum(p for _, p in rated)
        return sum(o * p for o, p in rated) / planned if planned else None

    @property
    def kwh_per_good_part(self) -> float | None:
        good = self.total("good_parts")
        return self.energy_kwh / good if good else None


def site_wide(rows: dict[str, list[Row]], site: str, start: int, end: int,
              ) -> dict[str, Any]:
    """What is the site's, not a machine's: batches, products' series, site energy."""
    return {"batches": batches(rows, site, start, end), "series": series(rows, site, start, end),
            "site_energy": site_energy(rows, site, start, end),
            "cohabitation": cohabitation(rows, site, start, end)}


def site_month(rows: dict[str, list[Row]], site: str, month: str, timezone: str,
               co2e_kg_per_kwh: float, products: Sequence[Product] = (),
               machine_materials: Mapping[str, str] | None = None) -> SiteMonth:
    """The site's figures for ``month`` from its KPI points (``rows`` by measurement);
    ``machine_materials``: the configured material of each machine, for jobs made from
    no lot."""
    start, end = month_bounds(month, timezone)
    figures = SiteMonth(site, month, co2e_kg_per_kwh, **site_wide(rows, site, start, end))

    def within(measurement: str, **tags: str) -> Iterable[Row]:
        return (row for row in rows.get(measurement, [])
                if row.get("site") == site and start <= row["time"] < end
                and all(row.get(k) == v for k, v in tags.items()))

    def machine(row: Row) -> MachineFigures:
        key = row["machine"]
        return figures.machines.setdefault(
            key, MachineFigures(machine=key, kind=row.get("kind", "")))

    for row in within("circularity", window="hour"):
        energy = figures.energy.setdefault(row["machine"], MachineEnergy(
            row["machine"], row.get("kind", "")))
        energy.energy_kwh += row.get("energy_kwh", 0.0)
        energy.standby_kwh += row.get("standby_kwh", 0.0)
        machine(row).add(row)
    for row in within("oee", window="day"):
        figures_of = machine(row)
        figures_of.run_s += row.get("run_s", 0.0)
        figures_of.planned_s += row.get("planned_s", 0.0)
        for name in ("performance", "quality"):
            if row.get(name) is not None:
                getattr(figures_of, name).append(row[name])
    materials = {row["lot"]: row.get("material", "") for row in rows.get("material_lot", [])
                 if row.get("site") == site and row.get("lot")}
    for row in within("job"):
        outcome = row.get("outcome", "unknown")
        figures.jobs[outcome] = figures.jobs.get(outcome, 0) + 1
        lot = row.get("lot") or ""
        material = materials.get(lot) if lot else (machine_materials or {}).get(
            row.get("machine", ""))
        used = figures.lots.setdefault((material or "", lot or NO_LOT), [0.0, 0.0])
        used[0] += row.get("material_g", 0.0)
        used[1] += row.get("recycled_g", 0.0)
        name = product_of(str(row.get("job", "")), products, str(row.get("product", "")))
        product = figures.products.setdefault(name, ProductFigures(product=name))
        product.add(row)
        product.jobs += 1
        product.energy_kwh += row.get("energy_kwh", 0.0)
    for row in within("scrap"):
        reason = figures.scrap_reasons.setdefault(row.get("reason", ""), [0.0, 0.0])
        reason[0] += row.get("scrap_parts", 0.0)
        reason[1] += row.get("scrap_g", 0.0)
    for row in within("downtime"):
        if row.get("duration_s", 0.0) > 0:  # 0 s: moved to another reason since
            loss = figures.losses.setdefault(row.get("reason", ""), [0.0, 0.0])
            loss[0] += 1
            loss[1] += row.get("lost_s", 0.0)
    figures.life = machine_life(rows, site, start, end)
    return figures


def sites_in(rows: dict[str, list[Row]], start_ns: int, end_ns: int) -> list[str]:
    """The sites with points in [start_ns, end_ns)."""
    return sorted({row["site"] for found in rows.values() for row in found
                   if "site" in row and start_ns <= row["time"] < end_ns})


def rows_from_points(points: Iterable[tuple[str, dict[str, str], dict[str, Any], int]],
                     ) -> dict[str, list[Row]]:
    """Rows by measurement from (measurement, tags, fields, time ns), each point as
    InfluxDB keeps it: the last write of a series and time, its fields merged."""
    kept: dict[tuple[str, tuple[tuple[str, str], ...], int], Row] = {}
    for measurement, tags, fields, time_ns in points:
        if measurement not in MEASUREMENTS:
            continue
        key = (measurement, tuple(sorted(tags.items())), time_ns)
        kept[key] = {**kept.get(key, {**tags, "time": time_ns}), **fields}
    rows: defaultdict[str, list[Row]] = defaultdict(list)
    for (measurement, _, _), row in kept.items():
        rows[measurement].append(row)
    return dict(rows)
