"""The report's site energy (docs/metrics.md, site energy): the month's peak quarter
and what the capacity tariff bills for it, the machines and jobs that made it, and the
month's energy bill by tariff band and machine, as the month's last writes left them."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]
PEAK_COLUMNS = ["peak_kw", "peak_start", "billed_kw", "rolling_kw", "months",
                "capacity_eur", "meter_peak_kw", "meter_diff_kw"]
SHARE_COLUMNS = ["machine", "kw", "jobs"]
BILL_COLUMNS = ["machine", "band", "kwh", "eur"]


def site_energy(rows: dict[str, list[Row]], site: str, start: int, end: int,
                ) -> dict[str, list[Row]]:
    """The month's ``peak`` (one row, none without a grid meter), ``peak_share`` (the
    largest first) and ``energy_bill`` (by machine and band)."""
    def month(measurement: str) -> list[Row]:
        return [row for row in rows.get(measurement, [])
                if row.get("site") == site and start <= row["time"] < end]

    return {"peak": [row for row in month("peak") if row.get("peak_kw") is not None],
            "peak_share": sorted(month("peak_share"), key=lambda r: -(r.get("kw") or 0.0)),
            "energy_bill": sorted(month("energy_bill"),
                                  key=lambda r: (r["machine"], r["band"]))}
