"""The points the KPI stage derives (docs/metrics.md): jobs, windows, stops, scrap,
material, alerts, equipment life. Part of the storage schema (contract/schema.py)."""

from __future__ import annotations

from contract.measurement import FieldSpec, measurement
from contract.neighbour_points import JOB_AIR

MATERIAL = measurement(
    "material",
    "Material consumed, cumulative per machine and material.",
    [FieldSpec("consumed_g", "g", doc="cumulative grams consumed")],
    extra_tags=("material",),
)

JOB = measurement(
    "job",
    "One record per finished job, at its end; tag outcome: what the device said (good, "
    "scrap, aborted, or unknown: another job started before its end was seen). A person's "
    "verdict rewrites the same point (parts, scrap grams, reason), never the tag, so no "
    "point is left behind in another series.",
    [
        FieldSpec("job", None, "string", "job id or file name"),
        FieldSpec("duration_s", "s"),
        FieldSpec("good_parts", None),
        FieldSpec("scrap_parts", None),
        FieldSpec("material_g", "g"),
        FieldSpec("scrap_g", "g"),
        FieldSpec("energy_kwh", "kWh", doc="what the meters reported by the job's end; "
                  "absent when the machine has no meter"),
        FieldSpec("co2e_kg", "kg", doc="energy_kwh x the site's grid factor"),
        FieldSpec("lot", None, "string", "the material lot it was made from"),
        FieldSpec("recycled_g", "g", doc="its material from the lot's recycled share"),
        FieldSpec("reason", None, "string", "a verdict's scrap reason"),
        FieldSpec("verdict_by", None, "string", "who gave the verdict"),
        FieldSpec("product", None, "string", "the product, as a verdict named it"),
        *[FieldSpec(f"{part}_eur", None, doc=f"its {part} cost, EUR; absent: a price is "
                    "missing") for part in ("energy", "material", "machine", "labour")],
        *JOB_AIR,
    ],
    extra_tags=("outcome",),
)

OEE = measurement(
    "oee",
    "Overall equipment effectiveness per machine and window (hour, shift, day).",
    [
        FieldSpec("availability", None),
        FieldSpec("performance", None),
        FieldSpec("quality", None),
        FieldSpec("oee", None),
        FieldSpec("run_s", "s", doc="run time within planned time"),
        FieldSpec("planned_s", "s", doc="planned busy time: the calendar's planned time "
                  "less planned stops (ISO 22400)"),
        FieldSpec("planned_down_s", "s", doc="planned stops within the planned time"),
    ],
    extra_tags=("window",),
)

CIRCULARITY = measurement(
    "circularity",
    "Resource figures per machine and window (see docs/metrics.md).",
    [
        FieldSpec("good_parts", None),
        FieldSpec("scrap_parts", None),
        FieldSpec("energy_kwh", "kWh", doc="energy spent in the window, idle time included"),
        FieldSpec("standby_kwh", "kWh", doc="energy spent while not running"),
        FieldSpec("standby_share", None, doc="standby_kwh / energy_kwh"),
        FieldSpec("material_g", "g"),
        FieldSpec("scrap_g", "g"),
        FieldSpec("kwh_per_good_part", "kWh", doc="only when good parts were made"),
        FieldSpec("g_per_good_part", "g", doc="only when good parts were made"),
        FieldSpec("scrap_rate_count", None, doc="scrap parts / all parts"),
        FieldSpec("scrap_rate_mass", None, doc="scrap grams / material grams"),
        FieldSpec("recycled_g", "g", doc="material from lots loaded with a recycled share"),
        FieldSpec("recycled_share", None, doc="recycled_g / material_g"),
    ],
    extra_tags=("window",),
)

DOWNTIME = measurement(
    "downtime",
    "One point per stop (the machine not running), at its start, under its reason "
    "(`unassigned` until a person gives one); when the reason changes, the point under "
    "the old reason is written again with 0 s, so sums by reason stay right.",
    [
        FieldSpec("duration_s", "s", doc="from the stop to running again (or as far as it "
                  "has gone)"),
        FieldSpec("lost_s", "s", doc="planned time within the stop: the availability loss"),
        FieldSpec("planned", None, doc="1 for a planned reason (changeover, break...), 0 "
                  "otherwise"),
        FieldSpec("ongoing", None, doc="1 while the stop goes on"),
        FieldSpec("by", None, "string", "who gave the reason"),
    ],
    extra_tags=("reason",),
)

SCRAP = measurement(
    "scrap",
    "Scrap a person reported in a verdict, at the job's end, under its reason (written "
    "again with 0 under an earlier reason).",
    [
        FieldSpec("scrap_parts", None),
        FieldSpec("scrap_g", "g"),
        FieldSpec("job", None, "string", "the job"),
    ],
    extra_tags=("reason",),
)

ALERT = measurement(
    "alert",
    "An alert rule that fired or resolved on a machine (docs/alerts.md), on the KPI "
    "stage's clock; a job's end is an event. The edge rule's alerts (the edge's own "
    "trouble) have no machine or kind, and a check tag: buffer, sink or dropped.",
    [
        FieldSpec("state", None, "string", "firing, resolved or event"),
        FieldSpec("message", None, "string", "what it says, in the site's language"),
    ],
    extra_tags=("rule", "check"),
)

ENERGY_HOURLY = measurement(
    "energy_hourly",
    "Energy each meter counted in each hour, at the hour's start (written again, whole, "
    "when a late reading changes it): what a central store needs instead of raw energy "
    "points (docs/metrics.md).",
    [FieldSpec("energy_kwh", "kWh", doc="the meter's energy in the hour, idle included")],
    extra_tags=("meter",),
)

MATERIAL_LOT = measurement(
    "material_lot",
    "A material lot (a spool, a batch of stock) loaded in a machine, at its loading time; "
    "written again as it is used and when it is unloaded.",
    [
        FieldSpec("lot", None, "string", "the lot's name"),
        FieldSpec("material", None, "string", "its material"),
        FieldSpec("recycled_pct", "percent", doc="its recycled share"),
        FieldSpec("supplier", None, "string", "who made it"),
        FieldSpec("mass_g", "g", doc="its mass when loaded"),
        FieldSpec("consumed_g", "g", doc="used on this machine since it was loaded"),
        FieldSpec("recycled_g", "g", doc="consumed_g x recycled_pct / 100"),
        FieldSpec("remaining_g", "g", doc="what was left when it was unloaded"),
        FieldSpec("loaded_s", "s", doc="how long it was loaded"),
    ],
)

LIFETIME = measurement(
    "lifetime",
    "What a machine and each of its components has done since installation, never reset, "
    "and what falls due (docs/lifetime.md); at each hour's end and when a status changes. "
    "A component with several counters (hours and days) is due by the most urgent.",
    [
        *(FieldSpec(name, unit, doc=doc) for name, unit, doc in (
            ("powered_h", "h", "hours drawing more than standby (any state but stopped, "
             "offline or unknown)"),
            ("run_h", "h", "hours running"),
            ("jobs", None, "jobs ended"),
            ("good_parts", None, "good parts made"),
            ("kwh", "kWh", "energy its meters reported"),
            ("filament_m", "m", "filament fed"),
            ("days", None, "days since installation"))),
        FieldSpec("since_service", None, doc="the count since the last service, in the "
                  "unit of the most urgent counter"),
        FieldSpec("due_in", None, doc="what is left of the interval (negative: overdue)"),
        FieldSpec("due_pct", "percent", doc="the share of the interval used"),
        FieldSpec("status", None, "string", "ok, warning, due or overdue"),
        FieldSpec("due_counts", None, "string", "which counter is the most urgent"),
        FieldSpec("drift", None, doc="a component counted by its device: the device's count "
                  "less the edge's own (docs/lifetime.md)"),
    ],
    extra_tags=("component",),
)

MAINTENANCE = measurement(
    "maintenance",
    "A component serviced, replaced or inspected, as a person recorded it; with the "
    "component's counts at that moment.",
    [
        FieldSpec("action", None, "string", "serviced, replaced or inspected"),
        FieldSpec("note", None, "string", "what was done"),
        FieldSpec("by", None, "string", "who did it"),
        FieldSpec("since_service", None, doc="the count since the service before"),
    ],
    extra_tags=("component",),
)

RELIABILITY = measurement(
    "reliability",
    "Failures and repairs per machine and window (hour, shift, day), for MTBF and MTTR "
    "(ISO 22400-2; docs/metrics.md): a failure is a stop whose reason is one of "
    "[operator] failure_stops, or that began in fault.",
    [
        FieldSpec("failures", None, doc="failures that began in the window"),
        FieldSpec("operating_s", "s", doc="run time in the window"),
        FieldSpec("repairs", None, doc="failures that ended (running again) in the window"),
        FieldSpec("repair_s", "s", doc="the time to restoration of those repairs"),
        FieldSpec("mtbf_s", "s", doc="operating_s / failures (when there were failures)"),
        FieldSpec("mttr_s", "s", doc="repair_s / repairs (when there were repairs)"),
    ],
    extra_tags=("window",),
)
