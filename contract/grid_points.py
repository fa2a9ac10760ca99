"""The points of the site's grid connection (docs/metrics.md, site energy): demand per
clock quarter, the month's peak, who drew it, the month's bill. Figures of the site,
not of one machine. Part of the storage schema (contract/schema.py)."""

from __future__ import annotations

from contract.measurement import FieldSpec
from contract.product_points import site_measurement

UNMETERED = "unmetered"
"""The ``machine`` of ``demand_share`` and ``peak_share`` for what no machine's meter
counted (the grid meter's figure less the machines')."""
INJECTION = "injection"
"""The ``band`` of ``energy_bill`` for energy sent back to the grid."""

DEMAND = site_measurement(
    "demand",
    "One clock quarter (:00-:15, ... in the site's time zone) at the grid meter, "
    "timestamped at its start and written once it has settled.",
    [FieldSpec("avg_kw", "kW", doc="(import - export kWh in the quarter) x 4"),
     FieldSpec("import_kwh", "kWh"),
     FieldSpec("export_kwh", "kWh"),
     FieldSpec("covered", None, doc="the share of the quarter the grid meter counted; "
               "below 0.99, avg_kw is absent and the quarter sets no peak"),
     FieldSpec("unmetered_kw", "kW", doc="avg_kw less the metered machines' (negative: "
               "production on site covered part of them)"),
     FieldSpec("meter_avg_kw", "kW", doc="the meter's own quarter average (1-0:1.4.0), "
               "its last value in the quarter"),
     FieldSpec("meter_diff_kw", "kW", doc="avg_kw - meter_avg_kw")],
    (),
)
DEMAND_SHARE = site_measurement(
    "demand_share",
    "What one metered machine drew in a quarter: its kWh there x 4.",
    [FieldSpec("kw", "kW"),
     FieldSpec("share", None, doc="kw / the quarter's avg_kw (absent when avg_kw <= 0)"),
     FieldSpec("jobs", None, "string", "the jobs open on it in the quarter")],
    ("machine",),
)
DEMAND_NOW = site_measurement(
    "demand_now",
    "The running quarter as it goes, at every check (health_interval_s): where it heads.",
    [FieldSpec("projected_kw", "kW", doc="(kWh drawn so far + present kW x hours left) x 4"),
     FieldSpec("present_kw", "kW", doc="the grid meter's power less what it sends back"),
     FieldSpec("threshold_kw", "kW", doc="this month's peak so far, at least "
               "minimum_peak_kw (the peak rule's default threshold)")],
    (),
)
PEAK = site_measurement(
    "peak",
    "The month's highest quarter so far, timestamped at the month's start (local) and "
    "written again after each quarter; the capacity tariff's figures.",
    [FieldSpec("peak_kw", "kW", doc="the highest avg_kw of the month's quarters"),
     FieldSpec("peak_start", None, "string", "that quarter's start, local ISO 8601"),
     FieldSpec("billed_kw", "kW", doc="max(peak_kw, [grid] minimum_peak_kw)"),
     FieldSpec("rolling_kw", "kW", doc="the mean billed_kw of the last 12 months, this "
               "one included (those the edge has seen, and the meter's own history)"),
     FieldSpec("months", None, doc="how many months rolling_kw averages"),
     FieldSpec("capacity_eur", None, doc="rolling_kw x capacity_eur_per_kw_year / 12"),
     FieldSpec("meter_peak_kw", "kW", doc="the meter's own month peak (1-0:1.6.0)"),
     FieldSpec("meter_peak_at", None, "string", "when the meter says it was, local ISO"),
     FieldSpec("meter_diff_kw", "kW", doc="peak_kw - meter_peak_kw"),
     FieldSpec("late_kwh", "kWh", doc="energy reported after its quarter had settled: in "
               "the bill, not in any quarter")],
    (),
)
PEAK_SHARE = site_measurement(
    "peak_share",
    "Each machine's part of the month's peak quarter (timestamped at the month's start; "
    "every machine written, 0 for those that drew nothing then).",
    [FieldSpec("kw", "kW"),
     FieldSpec("jobs", None, "string", "the jobs open on it in that quarter")],
    ("machine",),
)
ENERGY_BILL = site_measurement(
    "energy_bill",
    "The month's energy by tariff band, per machine (the grid meter's rows are the "
    "site's; band ``injection`` what it sent back), timestamped at the month's start.",
    [FieldSpec("kwh", "kWh"),
     FieldSpec("eur", None, doc="kwh x the band's price (injection: negative, a credit); "
               "absent without a price")],
    ("machine", "band"),
)
