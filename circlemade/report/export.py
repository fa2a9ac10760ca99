"""The report's machine-readable side: a CSV per table, and a JSON footprint per product
in a shape close to the WBCSD PACT data model (docs/report.md says how close)."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from circlemade.report.batches import BATCH_COLUMNS, SERIES_COLUMNS
from circlemade.report.figures import MachineFigures, ProductFigures, SiteMonth, month_bounds
from circlemade.report.neighbours import FINGERPRINT_COLUMNS, MACHINE_COLUMNS, PERIOD_COLUMNS
from circlemade.report.site_energy import BILL_COLUMNS, PEAK_COLUMNS, SHARE_COLUMNS

NAMESPACE = uuid.UUID("5b0c5e4e-6f0a-4c1d-9a57-1c2c1e0de001")
"""Footprint ids are derived from site, product and month: the same footprint, the same id."""
Table = tuple[list[str], list[list[Any]]]


def tables(month: SiteMonth) -> dict[str, Table]:
    """Every table of a site's month, as the report and the CSV files show it: counts as
    whole numbers, time in whole seconds, a material a machine does not report as None."""
    return {
        "energy": (["machine", "kind", "energy_kwh", "running_kwh", "standby_kwh"],
                   [[e.machine, e.kind, e.energy_kwh, e.running_kwh, e.standby_kwh]
                    for e in sorted(month.energy.values(), key=lambda e: e.machine)]),
        "material": (["material", "lot", "material_g", "recycled_g"],
                     [[material, lot, used, recycled]
                      for (material, lot), (used, recycled) in sorted(month.lots.items())]),
        "machines": (["machine", "kind", "good_parts", "scrap_parts", "material_g", "scrap_g",
                      "recycled_g", "availability", "performance", "quality", "oee"],
                     [[m.machine, m.kind, round(m.good_parts), round(m.scrap_parts),
                       *_measured(m, m.material_g, m.scrap_g, m.recycled_g),
                       m.availability, m.mean_performance, m.mean_quality, m.oee]
                      for m in sorted(month.machines.values(), key=lambda m: m.machine)]),
        "scrap_reasons": (["reason", "scrap_parts", "scrap_g"],
                          [[reason, round(parts), grams]
                           for reason, (parts, grams) in sorted(month.scrap_reasons.items())]),
        "losses": (["reason", "stops", "lost_s"],
                   [[reason, round(stops), round(lost)]
                    for reason, (stops, lost) in sorted(month.losses.items())]),
        "jobs": (["outcome", "jobs"], [[o, n] for o, n in sorted(month.jobs.items())]),
        "life": (["machine", "run_h", "powered_h", "jobs", "kwh", "run_h_total", "maintenance",
                  "failures", "mtbf_s", "mttr_s"],
                 [[x.machine, x.run_h, x.powered_h, round(x.jobs), x.kwh, x.run_h_total,
                   "; ".join(x.maintenance), round(x.failures),
                   None if x.mtbf_s is None else round(x.mtbf_s),
                   None if x.mttr_s is None else round(x.mttr_s)]
                  for x in sorted(month.life.values(), key=lambda x: x.machine)]),
        "batches": (BATCH_COLUMNS, [[row.get(c) for c in BATCH_COLUMNS]
                                    for row in month.batches]),
        "series": (SERIES_COLUMNS, [[row.get(c) for c in SERIES_COLUMNS]
                                    for row in month.series]),
        **{key: (columns, [[row.get(c) for c in columns]
                           for row in month.site_energy.get(measurement, [])])
           for key, measurement, columns in (("peak", "peak", PEAK_COLUMNS),
                                             ("peak_share", "peak_share", SHARE_COLUMNS),
                                             ("bill", "energy_bill", BILL_COLUMNS))},
        **{key: (columns, [[row.get(c) for c in columns]
                           for row in month.cohabitation.get(key, [])])
           for key, columns in (("noise_periods", PERIOD_COLUMNS),
                                ("noise_machines", MACHINE_COLUMNS),
                                ("fingerprints", FINGERPRINT_COLUMNS))},
        "products": (["product", "jobs", "parts", "good_parts", "energy_kwh", "material_g",
                      "recycled_g", "scrap_g", "co2e_kg", "co2e_kg_per_good_part"],
                     [[p.product, p.jobs, round(p.parts), round(p.good_parts), p.energy_kwh,
                       p.material_g, p.recycled_g, p.scrap_g, p.co2e_kg(month.co2e_kg_per_kwh),
                       p.per_good_part(p.co2e_kg(month.co2e_kg_per_kwh))]
                      for p in sorted(month.products.values(), key=lambda p: p.product)]),
    }


def _measured(machine: MachineFigures, *grams: float) -> list[float | None]:
    """A machine's grams, or None each when it reports no material at all (a mill with
    no stock mass, a laser): 0 g would say it used none."""
    return list(grams) if any(grams) or not machine.good_parts + machine.scrap_parts \
        else [None] * len(grams)


@dataclass(frozen=True)
class Origin:
    """What a footprint says of where and what: the site's name and country, the grid
    factor's source, each product's UN CPC class."""

    site_name: str
    country: str = "BE"
    factor_source: str = ""
    cpc: Mapping[str, str] = field(default_factory=dict)


DEFAULT_CPC = "369"
"""UN CPC 369, other plastics products: what most of a workshop's printed parts are."""


def footprint(month: SiteMonth, product: ProductFigures, origin: Origin, timezone: str,
              ) -> dict[str, Any]:
    """One product's footprint over the month, as PACT 2.3 has it: per kilogram of the
    good part (the declared unit must be physical), ``unitaryProductAmount`` the mass of
    one good part, so that a footprint per piece is amount x PCF."""
    start, end = (datetime.fromtimestamp(t / 1e9, UTC).isoformat().replace("+00:00", "Z")
                  for t in month_bounds(month.month, timezone))
    factor = month.co2e_kg_per_kwh
    per_part = product.per_good_part(product.co2e_kg(factor)) or 0.0
    part_kg = _part_kg(product)
    recycled = product.recycled_g / product.material_g if product.material_g else 0.0
    key = f"{month.site}/{product.product}/{month.month}"
    site = origin.site_name or month.site
    return {
        "id": str(uuid.uuid5(NAMESPACE, key)),
        "specVersion": "2.3.0",
        "version": 1,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "status": "Active",
        "companyName": site,
        "companyIds": [f"urn:circlemade:site:{month.site}"],
        "productDescription": f"{product.product}, made at {site}",
        "productIds": [f"urn:circlemade:product:{month.site}:{product.product}"],
        "productCategoryCpc": origin.cpc.get(product.product, DEFAULT_CPC),
        "productNameCompany": product.product,
        "comment": "Electricity the machines drew for the jobs, from the workshop's meters; "
                   "the material's own (embodied) emissions are not included. Per kilogram "
                   "of good part: a piece is unitaryProductAmount kilograms.",
        "pcf": _pcf(per_part / part_kg, part_kg, start, end, origin.country),
        "extensions": [_extension(product, per_part, recycled, factor, origin),
                       *_batch_extension(month, product.product)],
    }


def _pcf(per_kg: float, part_kg: float, start: str, end: str, country: str,
         ) -> dict[str, Any]:
    """The PACT ``pcf`` of a product: per kilogram of good part, gate to gate."""
    return {
        "declaredUnit": "kilogram",
        "unitaryProductAmount": _decimal(part_kg),
        "pCfExcludingBiogenic": _decimal(per_kg),
        "pCfIncludingBiogenic": _decimal(per_kg),
        "fossilGhgEmissions": _decimal(per_kg),
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "referencePeriodStart": start,
        "referencePeriodEnd": end,
        "geographyCountry": country,
        "primaryDataShare": 100.0,
        "boundaryProcessesDescription": "gate-to-gate: electricity of the workshop's "
                                        "machines during the product's jobs",
        "crossSectoralStandardsUsed": ["GHG Protocol Product standard"],
        "characterizationFactors": "AR6",
        "ipccCharacterizationFactorsSources": ["AR6"],
        "exemptedEmissionsPercent": 0.0,
        "exemptedEmissionsDescription": "none exempted within the gate-to-gate boundary",
        "packagingEmissionsIncluded": False,
    }


def _extension(product: ProductFigures, per_part: float, recycled: float, factor: float,
               origin: Origin) -> dict[str, Any]:
    """What PACT has no field for: the figures per good part, the recycled share and the
    grid factor used."""
    return {
        "specVersion": "2.0.0",
        "dataSchema": "urn:circlemade:footprint-extension:1",
        "data": {
            "goodParts": round(product.good_parts), "parts": round(product.parts),
            "co2eKgPerGoodPart": _significant(per_part),
            "energyKwhPerGoodPart": _significant(product.per_good_part(product.energy_kwh)),
            "materialGPerGoodPart": _significant(product.per_good_part(product.material_g)),
            "recycledGPerGoodPart": _significant(product.per_good_part(product.recycled_g)),
            "scrapGPerGoodPart": _significant(product.per_good_part(product.scrap_g)),
            "recycledContentShare": _significant(recycled),
            "emissionFactorKgCo2ePerKwh": factor,
            "emissionFactorSource": origin.factor_source,
        },
    }


def _batch_extension(month: SiteMonth, product: str) -> list[dict[str, Any]]:
    """The product's batches of the month, as the edge figured them (docs/metrics.md)."""
    made = [row for row in month.batches if row.get("product") == product]
    if not made:
        return []
    return [{"specVersion": "2.0.0", "dataSchema": "urn:circlemade:batch-extension:1",
             "data": {"batches": [{c: _significant(v) if isinstance(v, float) else v
                                   for c in BATCH_COLUMNS if (v := row.get(c)) is not None}
                                  for row in made]}}]


def _part_kg(product: ProductFigures) -> float:
    """The mass of one good part: the material of the good parts (what was not scrap)."""
    return (product.material_g - product.scrap_g) / product.good_parts / 1000


def _significant(value: float | None) -> float | None:
    """Six significant digits: what the meters and scales measure, without float noise."""
    return None if value is None else float(f"{value:.6g}")


def _decimal(value: float) -> str:
    """PACT writes quantities as decimal strings, without an exponent."""
    return format(Decimal(f"{value:.9g}"), "f")


def write_export(folder: Path, months: list[tuple[SiteMonth, Origin]], timezone: str,
                 ) -> list[Path]:
    """``<site>-<table>.csv`` per table and ``<site>-<product>.footprint.json`` per product
    made with good parts of a known mass, for every (site's month, its origin)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for month, origin in months:
        for table, (header, rows) in tables(month).items():
            path = folder / f"{month.site}-{month.month}-{table}.csv"
            with path.open("w", newline="", encoding="utf-8") as file:
                writer = csv.writer(file)
                writer.writerow(header)
                writer.writerows([_cell(v) for v in row] for row in rows)
            written.append(path)
        for product in _made(month):
            path = folder / f"{month.site}-{month.month}-{_slug(product.product)}.footprint.json"
            path.write_bytes(orjson.dumps(footprint(month, product, origin, timezone),
                                          option=orjson.OPT_INDENT_2))
            written.append(path)
    return written


def _made(month: SiteMonth) -> Iterator[ProductFigures]:
    return (p for p in month.products.values() if p.good_parts > 0 and _part_kg(p) > 0)


def _cell(value: Any) -> Any:
    return "" if value is None else _significant(value) if isinstance(value, float) else value


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
