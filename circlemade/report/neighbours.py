"""The report's cohabitation (docs/metrics.md, neighbours): per sound sensor and period,
how many of the month's periods ended above the permit's limit and the hours over it;
the machines that ran in those minutes; and the jobs' emission fingerprints by
material, as the month's last writes left them."""

from __future__ import annotations

import re
from typing import Any

from contract.neighbour_points import AIR_SIGNALS

Row = dict[str, Any]
PERIOD_COLUMNS = ["sensor", "period", "periods", "over_limit", "hours_over", "loudest_db",
                  "limit_db"]
MACHINE_COLUMNS = ["machine", "minutes_over"]
FINGERPRINT_COLUMNS = ["material", "jobs", *[f"{s}_rise" for s in AIR_SIGNALS]]
ONLY = {"noise": "period"}
"""What the report reads of a measurement it does not read whole: the points with this
tag (the noise windows of a period)."""


def cohabitation(rows: dict[str, list[Row]], site: str, start: int, end: int,
                 ) -> dict[str, list[Row]]:
    windows = [row for row in rows.get("noise", []) if row.get("site") == site
               and row.get("period") and start <= row["time"] < end]
    return {"noise_periods": _periods(windows), "noise_machines": _machines(windows),
            "fingerprints": _fingerprints([
                row for row in rows.get("job", []) if row.get("site") == site
                and start <= row["time"] < end and f"{AIR_SIGNALS[0]}_rise" in row])}


def _periods(windows: list[Row]) -> list[Row]:
    found: dict[tuple[str, str], Row] = {}
    for w in sorted(windows, key=lambda row: row["time"]):
        row = found.setdefault((w["machine"], w["period"]), {
            "sensor": w["machine"], "period": w["period"], "periods": 0, "over_limit": 0,
            "hours_over": 0.0, "loudest_db": None, "limit_db": w.get("limit_db")})
        laeq = w.get("laeq_db")
        row["periods"] += 1
        row["over_limit"] += laeq is not None and laeq > (w.get("limit_db") or 1e9)
        row["hours_over"] += (w.get("minutes_over") or 0.0) / 60
        row["loudest_db"] = max(filter(None, (row["loudest_db"], laeq)), default=None)
    return [found[key] for key in sorted(found)]


def _machines(windows: list[Row]) -> list[Row]:
    minutes: dict[str, int] = {}
    for w in windows:
        for machine, count in re.findall(r"([^,=\s]+)=(\d+)", str(w.get("machines_over", ""))):
            minutes[machine] = minutes.get(machine, 0) + int(count)
    return [{"machine": m, "minutes_over": n}
            for m, n in sorted(minutes.items(), key=lambda item: (-item[1], item[0]))]


def _fingerprints(jobs: list[Row]) -> list[Row]:
    by: dict[str, list[Row]] = {}
    for job in jobs:
        by.setdefault(str(job.get("material", "")), []).append(job)
    return [{"material": material, "jobs": len(made), **{
        f"{s}_rise": sum(j[f"{s}_rise"] for j in with_it) / len(with_it)
        for s in AIR_SIGNALS for with_it in [[j for j in made if f"{s}_rise" in j]] if with_it}}
        for material, made in sorted(by.items())]
