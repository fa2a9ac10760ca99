"""The points of batches and products (docs/metrics.md, batches and products): figures of
the site, not of one machine, since a batch may run on several machines. Part of the
storage schema (contract/schema.py)."""

from __future__ import annotations

from contract.measurement import FieldSpec, MeasurementSpec

COST_PARTS = ("energy", "material", "machine", "labour")
"""The parts of the cost per good part, each shown apart (``<part>_eur_per_good_part``)."""

FIGURES = [
    FieldSpec("jobs", None),
    FieldSpec("parts", None, doc="parts made, good and scrap"),
    FieldSpec("good_parts", None, doc="good parts, as the last verdicts say"),
    FieldSpec("fpy", None, doc="first pass yield: good parts as first judged, less those "
              "reworked, / parts"),
    FieldSpec("scrap_ratio", None, doc="scrap parts / parts"),
    FieldSpec("rework_ratio", None, doc="reworked parts / parts"),
    FieldSpec("setup_s", "s", doc="per machine, from the batch's start there to its first "
              "job's start, summed"),
    FieldSpec("setup_ratio", None, doc="setup_s / (setup_s + its jobs' time)"),
    FieldSpec("run_s", "s", doc="its jobs' time"),
    FieldSpec("cycle_s", "s", doc="median job time per good part"),
    FieldSpec("cycle_cv", None, doc="coefficient of variation of the time per good part "
              "(two jobs with good parts at least)"),
    FieldSpec("energy_kwh", "kWh", doc="its jobs' energy"),
    FieldSpec("material_g", "g", doc="its jobs' material"),
    FieldSpec("recycled_g", "g", doc="its jobs' material from recycled shares"),
    FieldSpec("kwh_per_good_part", "kWh"),
    FieldSpec("g_per_good_part", "g"),
    FieldSpec("recycled_g_per_good_part", "g"),
    FieldSpec("co2e_kg_per_good_part", "kg", doc="kwh_per_good_part x the grid factor"),
    *[FieldSpec(f"{part}_eur_per_good_part", None, doc=f"{part} cost, EUR; absent: "
                "unknown (a price missing)") for part in COST_PARTS],
    FieldSpec("cost_per_good_part", None, doc="EUR: the sum of the parts; absent when "
              "one is unknown"),
    FieldSpec("cost_unknown", None, "string", "the parts whose price is missing, e.g. "
              "'machine' ('' when none)"),
]


def site_measurement(name: str, doc: str, fields: list[FieldSpec],
                     tags: tuple[str, ...]) -> MeasurementSpec:
    return MeasurementSpec(name=name, tags=("site", *tags),
                           fields={f.name: f for f in fields}, doc=doc, extra_tags=tags)


BATCH = site_measurement(
    "batch",
    "A batch (an order) of the site, on whichever machines it runs: at its start, written "
    "again at each of its jobs' ends, at each verdict on them and at its end.",
    [FieldSpec("quantity", None, doc="the good parts it asks for"),
     FieldSpec("machines", None, doc="machines it ran on"),
     *FIGURES,
     FieldSpec("remaining", None, doc="quantity - good_parts (negative: more than asked)"),
     FieldSpec("ended", None, doc="1 once it ended on every machine it ran on"),
     FieldSpec("short", None, doc="at its end: the good parts it lacks (0: complete)")],
    ("batch", "product"),
)

PRODUCT = site_measurement(
    "product",
    "A product's batches' jobs per day and per month (tag window: day or month), at the "
    "window's start in the site's time zone; written again as jobs end or are judged.",
    [*FIGURES, FieldSpec("batches", None, doc="batches with a job in the window")],
    ("product", "window"),
)

LEARNING = site_measurement(
    "learning",
    "Wright's law fitted over a product's ended batches (three at least): time per good "
    "part against cumulative good parts, at each batch's end.",
    [FieldSpec("batches", None, doc="batches in the fit"),
     FieldSpec("learning_rate", None, doc="time per good part after doubling the "
               "cumulative good parts / before (0.8: 20 % less)"),
     FieldSpec("learning_rate_low", None, doc="95 % confidence interval, low end"),
     FieldSpec("learning_rate_high", None, doc="95 % confidence interval, high end"),
     FieldSpec("r2", None, doc="share of the variance of log time the fit explains"),
     FieldSpec("first_part_s", "s", doc="the fit's time for the first good part"),
     FieldSpec("cumulative_good", None, doc="good parts of the product so far")],
    ("product",),
)

READINESS = site_measurement(
    "readiness",
    "A product's series-readiness card, one point per criterion (tag criterion: batches, "
    "fpy, cycle_cv, cost, or ready for all of them), at each batch's end.",
    [FieldSpec("value", None, doc="the worst of the last batches"),
     FieldSpec("limit", None, doc="what the criterion asks"),
     FieldSpec("passes", None, doc="1 when it holds, else 0"),
     FieldSpec("off_by", None, doc="how far the value misses the limit (0 when it holds)")],
    ("product", "criterion"),
)
