"""The storage schema: the contract between the writer and the dashboards.

Defined once here; :mod:`edge.pipeline.normalise` writes by it and the dashboard generator reads
it, so a rename cannot silently break a panel. Tags are low-cardinality identifiers
only; job ids, file names and free text are fields. Renames are breaking changes and
need a migration note in the changelog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BASE_TAGS: tuple[str, ...] = ("site", "machine", "kind")

FieldType = Literal["float", "string"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    unit: str | None
    """Canonical pint unit of the stored value; ``None`` for strings and counts."""
    type: FieldType = "float"
    doc: str = ""
    limits: tuple[float, float] | None = None
    """Physically plausible range; a device value outside it is flagged, not stored."""


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    name: str
    tags: tuple[str, ...]
    fields: Mapping[str, FieldSpec]
    doc: str = ""
    extra_tags: tuple[str, ...] = field(default=())


def _measurement(
    name: str, doc: str, fields: list[FieldSpec], extra_tags: tuple[str, ...] = ()
) -> MeasurementSpec:
    return MeasurementSpec(
        name=name,
        tags=BASE_TAGS + extra_tags,
        fields={f.name: f for f in fields},
        doc=doc,
        extra_tags=extra_tags,
    )


MACHINE_STATE = _measurement(
    "machine_state",
    "Canonical state of a machine (see contract.machine_state).",
    [
        FieldSpec("state", None, "string", "running, idle, stopped, fault, maintenance, offline"),
        FieldSpec("state_code", None, "float", "numeric code of the state, for timelines"),
    ],
)

TELEMETRY = _measurement(
    "telemetry",
    "Process values in canonical units.",
    [
        FieldSpec("progress_pct", "percent", doc="job progress", limits=(0, 100)),
        FieldSpec("nozzle_temp_c", "degC", doc="hot-end temperature", limits=(-40, 600)),
        FieldSpec("nozzle_target_c", "degC", doc="hot-end set point", limits=(-40, 600)),
        FieldSpec("bed_temp_c", "degC", doc="bed temperature", limits=(-40, 250)),
        FieldSpec("bed_target_c", "degC", doc="bed set point", limits=(-40, 250)),
        FieldSpec("chamber_temp_c", "degC", doc="chamber temperature", limits=(-40, 250)),
        FieldSpec("layer", None, doc="current layer number"),
        FieldSpec("total_layers", None, doc="layers in the job"),
        FieldSpec("remaining_time_s", "s", doc="estimated time left in the job",
                  limits=(0, 10_000_000)),
        FieldSpec("filament_used_mm", "mm", doc="filament length used by the current job",
                  limits=(0, 100_000_000)),
        FieldSpec("spindle_speed_rpm", "rpm", doc="spindle speed", limits=(-100_000, 100_000)),
        FieldSpec("spindle_override_pct", "percent", doc="spindle speed override"),
        FieldSpec("feed_override_pct", "percent", doc="feed rate override"),
        FieldSpec("feed_rate_mm_min", "mm/min", doc="path feed rate"),
        FieldSpec("laser_power_pct", "percent", doc="laser power, share of the tube's maximum",
                  limits=(0, 100)),
        FieldSpec("operating_h", "h", doc="the device's own operating-hours counter (umati "
                  "OperationDuration, MTConnect AccumulatedTime, a nozzle's hours)",
                  limits=(0, 10_000_000)),
        FieldSpec("power_on_h", "h", doc="the device's own powered-hours counter",
                  limits=(0, 10_000_000)),
        FieldSpec("parts_produced", None, doc="machine's part counter, cumulative",
                  limits=(0, 1e12)),
        FieldSpec("parts_good", None, doc="machine's good-part counter, cumulative",
                  limits=(0, 1e12)),
        FieldSpec("parts_scrap", None, doc="machine's scrap-part counter, cumulative",
                  limits=(0, 1e12)),
    ],
)

ENERGY = _measurement(
    "energy",
    "Electrical readings per meter in front of a machine.",
    [
        FieldSpec("power_w", "W", doc="active power, at most the machine's max_power_w",
                  limits=(-1000, 1_000_000)),
        FieldSpec("energy_kwh", "kWh", doc="cumulative energy, monotonic and reset-safe",
                  limits=(0, 1e9)),
        FieldSpec("voltage_v", "V", doc="RMS voltage (three phases: their mean to neutral)",
                  limits=(0, 1000)),
        FieldSpec("current_a", "A", doc="RMS current (three phases: their sum)",
                  limits=(0, 3000)),
        FieldSpec("frequency_hz", "Hz", doc="grid frequency", limits=(0, 100)),
        FieldSpec("energy_export_kwh", "kWh", doc="cumulative energy sent back to the grid "
                  "(not counted as use)", limits=(0, 1e9)),
        *(FieldSpec(f"{quantity}_l{phase}_{unit.lower()}", unit, doc=f"{what}, phase L{phase}",
                    limits=limits)
          for phase in (1, 2, 3)
          for quantity, unit, what, limits in (
              ("voltage", "V", "RMS voltage to neutral", (0, 1000)),
              ("current", "A", "RMS current", (0, 1000)),
              ("power", "W", "active power", (-1_000_000, 1_000_000)),
              ("energy", "kWh", "cumulative imported energy (not counted as use: the "
               "total is)", (0, 1e9)))),
    ],
    extra_tags=("meter",),
)

JOB_EVENT = _measurement(
    "job_event",
    "A job started or ended on a machine, as the device reported it; the KPI stage turns "
    "these into `job` records.",
    [
        FieldSpec("job_event", None, "string", "start or end"),
        FieldSpec("job_name", None, "string", "job or file name"),
        FieldSpec("job_outcome", None, "string", "for end: good, scrap or aborted"),
    ],
)

OPERATOR_INPUT = _measurement(
    "operator_input",
    "What a person told the edge about a machine, as received (a verdict on a job, the "
    "reason for a stop, a material lot loaded or unloaded; docs/operators.md); the KPI "
    "stage applies it to jobs, stops and windows.",
    [
        FieldSpec("action", None, "string", "verdict, downtime, load, unload or maintenance"),
        FieldSpec("by", None, "string", "who said it"),
        FieldSpec("job", None, "string", "verdict: the job (default the last ended)"),
        FieldSpec("verdict_good", None, doc="verdict: good parts", limits=(0, 100_000)),
        FieldSpec("verdict_scrap", None, doc="verdict: scrap parts", limits=(0, 100_000)),
        FieldSpec("product", None, "string", "verdict: the product the job made"),
        FieldSpec("reason", None, "string", "verdict: scrap reason; downtime: stop reason"),
        FieldSpec("from_s", "s", doc="downtime: start of the stops meant (unix s)"),
        FieldSpec("to_s", "s", doc="downtime: end of the stops meant (unix s)"),
        FieldSpec("lot", None, "string", "load, unload: the material lot"),
        FieldSpec("lot_material", None, "string", "load: its material"),
        FieldSpec("recycled_pct", "percent", doc="load: recycled share of the lot",
                  limits=(0, 100)),
        FieldSpec("supplier", None, "string", "load: who made it"),
        FieldSpec("mass_g", "g", doc="load: mass of the spool or lot", limits=(0, 1e6)),
        FieldSpec("density_g_cm3", None, doc="load: density, for a material not known",
                  limits=(0, 25)),
        FieldSpec("remaining_g", "g", doc="unload: what is left", limits=(0, 1e6)),
        FieldSpec("component", None, "string", "maintenance: the component"),
        FieldSpec("maintenance_action", None, "string",
                  "maintenance: serviced, replaced or inspected"),
        FieldSpec("note", None, "string", "maintenance: what was done"),
    ],
)

MATERIAL = _measurement(
    "material",
    "Material consumed, cumulative per machine and material.",
    [FieldSpec("consumed_g", "g", doc="cumulative grams consumed")],
    extra_tags=("material",),
)

JOB = _measurement(
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
    ],
    extra_tags=("outcome",),
)

OEE = _measurement(
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

CIRCULARITY = _measurement(
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

DOWNTIME = _measurement(
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

SCRAP = _measurement(
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

ALERT = _measurement(
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

ENERGY_HOURLY = _measurement(
    "energy_hourly",
    "Energy each meter counted in each hour, at the hour's start (written again, whole, "
    "when a late reading changes it): what a central store needs instead of raw energy "
    "points (docs/metrics.md).",
    [FieldSpec("energy_kwh", "kWh", doc="the meter's energy in the hour, idle included")],
    extra_tags=("meter",),
)

MATERIAL_LOT = _measurement(
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

LIFETIME = _measurement(
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

MAINTENANCE = _measurement(
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

RELIABILITY = _measurement(
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

EDGE_HEALTH = MeasurementSpec(
    name="edge_health",
    tags=("site", "source"),
    fields={
        f.name: f
        for f in [
            FieldSpec("messages_in", None, doc="messages received, cumulative"),
            FieldSpec("readings_out", None, doc="readings decoded, cumulative"),
            FieldSpec("decode_errors", None, doc="messages that could not be decoded"),
            FieldSpec("dead_letters", None, doc="points InfluxDB rejected for good"),
            FieldSpec("points_written", None, doc="points InfluxDB accepted, cumulative"),
            FieldSpec("write_errors", None, doc="failed write attempts (retried)"),
            FieldSpec("points_previewed", None,
                      doc="live points written ahead of a backlog (written again in order)"),
            FieldSpec("buffer_depth", None, doc="points waiting to be written"),
            FieldSpec("write_latency_ms", "ms", doc="duration of the last write"),
            FieldSpec("bad_status", None, doc="OPC UA values with a bad status code"),
            FieldSpec("buffer_dropped", None, doc="points dropped past the buffer's bounds"),
            FieldSpec("buffer_full", None,
                      doc="appends refused for want of disk (messages held back, retried)"),
            FieldSpec("buffer_damaged", None, doc="buffer files found damaged and set aside"),
            FieldSpec("dead_letters_lost", None,
                      doc="dead letters lost while their file could not be written"),
            FieldSpec("batch_errors", None,
                      doc="batches ingest could not process whole (then one by one)"),
            FieldSpec("task_restarts", None, doc="service tasks that crashed and restarted"),
            FieldSpec("client_id_conflicts", None,
                      doc="MQTT sessions taken over by another client with the same id"),
        ]
    },
    doc="The edge service's own health, per source (a broker, a source, or the sink).",
    extra_tags=("source",),
)

MEASUREMENTS: dict[str, MeasurementSpec] = {
    m.name: m
    for m in (MACHINE_STATE, TELEMETRY, ENERGY, JOB_EVENT, OPERATOR_INPUT, MATERIAL, JOB,
              OEE, CIRCULARITY, ENERGY_HOURLY, DOWNTIME, SCRAP, MATERIAL_LOT, ALERT,
              LIFETIME, MAINTENANCE, RELIABILITY, EDGE_HEALTH)
}


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """Where a canonical signal from a device is stored."""

    name: str
    measurement: MeasurementSpec
    field: FieldSpec

    @property
    def unit(self) -> str | None:
        return self.field.unit


def _signals() -> dict[str, SignalSpec]:
    signals = {"state": SignalSpec("state", MACHINE_STATE, MACHINE_STATE.fields["state"])}
    for measurement in (TELEMETRY, ENERGY, JOB_EVENT, OPERATOR_INPUT):
        for spec in measurement.fields.values():
            signals[spec.name] = SignalSpec(spec.name, measurement, spec)
    return signals


SIGNALS: dict[str, SignalSpec] = _signals()
"""Canonical signals a device profile may produce, by name."""


def markdown() -> str:
    """The schema as the Markdown of ``docs/schema.md`` (a test keeps the two in step)."""
    lines = [
        "# Storage schema",
        "",
        "Generated from `contract/schema.py` by `python -m contract.schema > docs/schema.md`;",
        "a test fails when the two differ. Tags are low-cardinality identifiers only.",
        "Every numeric field is stored as a float. Renames are breaking changes.",
    ]
    for spec in MEASUREMENTS.values():
        lines += ["", f"## `{spec.name}`", "", spec.doc, "",
                  f"Tags: {', '.join(f'`{t}`' for t in spec.tags)}", "",
                  "| field | type | unit | meaning |", "|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.type} | {f.unit or ''} | {f.doc}"
                  f"{f' (plausible: {f.limits[0]:g} to {f.limits[1]:g})' if f.limits else ''} |"
                  for f in spec.fields.values()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
