"""The Site energy dashboard: the grid meter's demand per clock quarter against the
month's peak, where the running quarter heads, who made the month's peak, and the
month's bill by band and machine (docs/metrics.md, site energy).

The grid connection is the site's, not a machine's: these panels follow the site
selector only, over the month so far (the month's points are dated at its start)."""

from __future__ import annotations

from contract.grid_points import DEMAND, DEMAND_NOW, DEMAND_SHARE, ENERGY_BILL, PEAK, PEAK_SHARE
from contract.measurement import MeasurementSpec
from dashboards.panels import PanelSpec
from dashboards.queries import each_field

SITE_SCOPE = '"site" =~ /^$site$/'


def site_query(measurement: MeasurementSpec, names: list[str], by: str = "",
               how: str = "last") -> str:
    return each_field(measurement, names, SITE_SCOPE, by, how)


def site_energy() -> list[PanelSpec]:
    return [
        PanelSpec("Demand per quarter and the month's peak", "timeseries", [
            site_query(DEMAND, ["avg_kw"], "time(15m)"),
            site_query(DEMAND_NOW, ["threshold_kw"], "time(15m) fill(previous)", "max")],
            16, unit="kwatt", aliases=["quarter", "month's peak so far"],
            description="Each clock quarter's average demand at the grid meter (import "
            "less export, x 4) and the month's highest so far (at least minimum_peak_kw)."),
        PanelSpec("This quarter, projected", "stat", [
            site_query(DEMAND_NOW, ["projected_kw", "present_kw", "threshold_kw"])], 8,
            unit="kwatt", description="Where the running quarter heads if the present "
            "demand holds; the peak alert fires when it passes the threshold."),
        PanelSpec("The month's peak", "table", [site_query(PEAK, [
            "peak_kw", "peak_start", "billed_kw", "rolling_kw", "months", "capacity_eur",
            "meter_peak_kw", "meter_diff_kw"])], 12, expects="text",
            description="The highest quarter and what the capacity tariff bills: the "
            "rolling average of the last 12 monthly peaks x the capacity price / 12."),
        PanelSpec("Who made the peak", "bars", [
            site_query(PEAK_SHARE, ["kw"], '"machine"')], 12, unit="kwatt",
            description="Each machine's kW in the month's peak quarter, and the part no "
            "meter counted (unmetered)."),
        PanelSpec("Demand by machine per quarter", "timeseries", [
            site_query(DEMAND_SHARE, ["kw"], 'time(15m), "machine"')], 12, unit="kwatt",
            description="Each metered machine's kWh in the quarter x 4."),
        PanelSpec("The month's bill by band and machine", "table", [
            site_query(ENERGY_BILL, ["kwh", "eur"], '"machine", "band"')], 12,
            description="Every meter's kWh by tariff band and their price; the grid "
            "meter's rows are the site's, band injection what it sent back (a credit)."),
    ]
