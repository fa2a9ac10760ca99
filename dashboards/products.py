"""The Products dashboard: per product, its batches side by side (first pass yield, cycle
CV, the cost per good part by kind, kWh and g per good part), its days, its learning curve
and its series-readiness card (docs/metrics.md, batches and products).

Batches and products are the site's, not a machine's: these panels follow the site and
product selectors only."""

from __future__ import annotations

from contract.measurement import MeasurementSpec
from contract.product_points import BATCH, COST_PARTS, LEARNING, PRODUCT, READINESS
from dashboards.panels import PanelSpec
from dashboards.queries import each_field

PRODUCT_SCOPE = '"site" =~ /^$site$/ AND "product" =~ /^$product$/'


def last(measurement: MeasurementSpec, names: list[str], by: str, where: str = "") -> str:
    """The last value of each field of the selected products, per ``by``."""
    return each_field(measurement, names, PRODUCT_SCOPE, by, where=where)


BY_BATCH = '"product", "batch"'


def products() -> list[PanelSpec]:
    cost = [f"{part}_eur_per_good_part" for part in COST_PARTS]
    return [
        PanelSpec("Batches", "table", [last(BATCH, [
            "quantity", "good_parts", "remaining", "fpy", "cycle_cv", "setup_s",
            "cost_per_good_part", "cost_unknown"], BY_BATCH)], 24, expects="text",
            description="Each batch's last figures: what was asked, made and remains, "
            "first pass yield, cycle-time CV, setup, cost per good part (cost_unknown "
            "names a part whose price is missing)."),
        PanelSpec("First pass yield by batch", "bars",
                  [last(BATCH, ["fpy"], BY_BATCH)], 8, unit="percentunit"),
        PanelSpec("Cycle-time CV by batch", "bars",
                  [last(BATCH, ["cycle_cv"], BY_BATCH)], 8, unit="percentunit"),
        PanelSpec("kWh and g per good part by batch", "bars", [last(
            BATCH, ["kwh_per_good_part", "g_per_good_part"], BY_BATCH)], 8),
        PanelSpec("Cost per good part by kind and batch", "bars",
                  [last(BATCH, cost, BY_BATCH)], 12, unit="currencyEUR",
                  description="Energy by tariff band, material by lot or material price, "
                  "machine time, labour; a kind without a price is left out, not 0."),
        PanelSpec("Learning curve", "table", [last(LEARNING, [
            "learning_rate", "learning_rate_low", "learning_rate_high", "r2", "batches",
            "cumulative_good"], '"product"')], 12,
            description="Wright's law over the product's batches: time per good part "
            "after each doubling of the good parts made, with its 95 % interval."),
        PanelSpec("Series readiness", "table", [last(READINESS, [
            "value", "limit", "passes", "off_by"], '"product", "criterion"')], 12,
            description="Each criterion on the last batches; off_by says by how much it "
            "misses (docs/metrics.md, series readiness)."),
        PanelSpec("Good parts and first pass yield per day", "timeseries", [last(
            PRODUCT, ["good_parts", "fpy"], '"product", time(1d)',
            where="\"window\" = 'day'")], 12),
    ]
