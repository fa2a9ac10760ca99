"""The storage schema: the contract between the writer and the dashboards.

Defined once here; :mod:`edge.pipeline.normalise` writes by it and the dashboard generator reads
it, so a rename cannot silently break a panel. Tags are low-cardinality identifiers
only; job ids, file names and free text are fields. Renames are breaking changes and
need a migration note in the changelog.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.grid_points import (
    DEMAND,
    DEMAND_NOW,
    DEMAND_SHARE,
    ENERGY_BILL,
    PEAK,
    PEAK_SHARE,
)
from contract.kpi_points import (
    ALERT,
    CIRCULARITY,
    DOWNTIME,
    ENERGY_HOURLY,
    JOB,
    LIFETIME,
    MAINTENANCE,
    MATERIAL,
    MATERIAL_LOT,
    OEE,
    RELIABILITY,
    SCRAP,
)
from contract.measurement import FieldSpec, MeasurementSpec, measurement
from contract.model import one_of
from contract.neighbour_points import AIR, ENVIRONMENT, NOISE
from contract.product_points import BATCH, LEARNING, PRODUCT, READINESS

MACHINE_STATE = measurement(
    "machine_state",
    "Canonical state of a machine (see contract.machine_state).",
    [
        FieldSpec("state", None, "string", "running, idle, stopped, fault, maintenance, offline"),
        FieldSpec("state_code", None, "float", "numeric code of the state, for timelines"),
    ],
)

TELEMETRY = measurement(
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

ENERGY = measurement(
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
        FieldSpec("power_export_w", "W", doc="active power sent back to the grid",
                  limits=(0, 1_000_000)),
        FieldSpec("demand_kw", "kW", doc="a grid meter's own average demand of the running "
                  "quarter (1-0:1.4.0)", limits=(-10_000, 10_000)),
        FieldSpec("month_peak_kw", "kW", doc="a grid meter's own highest quarter of the "
                  "month (1-0:1.6.0)", limits=(0, 10_000)),
        FieldSpec("month_peak_at_s", "s", doc="when month_peak_kw was, as the meter says "
                  "(unix s)", limits=(0, 1e11)),
        FieldSpec("peak_history", None, "string", "a grid meter's own monthly peaks "
                  "(0-0:98.1.0), JSON: month -> kW, e.g. {\"2026-09\": 4.2}"),
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

JOB_EVENT = measurement(
    "job_event",
    "A job started or ended on a machine, as the device reported it; the KPI stage turns "
    "these into `job` records.",
    [
        FieldSpec("job_event", None, "string", "start or end"),
        FieldSpec("job_name", None, "string", "job or file name"),
        FieldSpec("job_outcome", None, "string", "for end: good, scrap or aborted"),
    ],
)

OPERATOR_INPUT = measurement(
    "operator_input",
    "What a person told the edge about a machine, as received (a verdict on a job, the "
    "reason for a stop, a material lot loaded or unloaded; docs/operators.md); the KPI "
    "stage applies it to jobs, stops and windows.",
    [
        FieldSpec("action", None, "string",
                  "verdict, downtime, load, unload, maintenance or batch"),
        FieldSpec("by", None, "string", "who said it"),
        FieldSpec("job", None, "string", "verdict: the job (default the last ended)"),
        FieldSpec("verdict_good", None, doc="verdict: good parts", limits=(0, 100_000)),
        FieldSpec("verdict_scrap", None, doc="verdict: scrap parts", limits=(0, 100_000)),
        FieldSpec("verdict_rework", None, doc="verdict: good parts that needed rework",
                  limits=(0, 100_000)),
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
        FieldSpec("price_per_kg", None, doc="load: the lot's price, EUR per kg",
                  limits=(0, 1e5)),
        FieldSpec("remaining_g", "g", doc="unload: what is left", limits=(0, 1e6)),
        FieldSpec("component", None, "string", "maintenance: the component"),
        FieldSpec("maintenance_action", None, "string",
                  "maintenance: serviced, replaced or inspected"),
        FieldSpec("note", None, "string", "maintenance: what was done"),
        FieldSpec("batch", None, "string", "batch: the batch (order) id"),
        FieldSpec("batch_action", None, "string", "batch: start or end"),
        FieldSpec("quantity", None, doc="batch: the good parts it asks for",
                  limits=(1, 1_000_000)),
    ],
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
    for m in (MACHINE_STATE, TELEMETRY, ENERGY, ENVIRONMENT, JOB_EVENT, OPERATOR_INPUT,
              MATERIAL, JOB, OEE, CIRCULARITY, ENERGY_HOURLY, DOWNTIME, SCRAP, MATERIAL_LOT, ALERT,
              LIFETIME, MAINTENANCE, RELIABILITY, BATCH, PRODUCT, LEARNING, READINESS,
              DEMAND, DEMAND_SHARE, DEMAND_NOW, PEAK, PEAK_SHARE, ENERGY_BILL, NOISE, AIR,
              EDGE_HEALTH)
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
    for device in (TELEMETRY, ENERGY, ENVIRONMENT, JOB_EVENT, OPERATOR_INPUT):
        for spec in device.fields.values():
            signals[spec.name] = SignalSpec(spec.name, device, spec)
    return signals


SIGNALS: dict[str, SignalSpec] = _signals()
"""Canonical signals a device profile may produce, by name."""


def known_signal(signal: str) -> str:
    """A canonical signal's name as given, or ValueError listing them (config checks)."""
    return one_of(signal, sorted(SIGNALS), "signal")


def markdown() -> str:
    """The schema as the Markdown of ``docs/schema.md`` (a test keeps the two in step)."""
    lines = [
        "# Storage schema",
        "",
        "Generated from `contract/schema.py` by `python -m contract.schema > docs/schema.md`;",
        "a test fails when the two differ. Tags are low-cardinality identifiers only.",
        "Every numeric field is stored as a float. Renames are breaking changes.",
        "",
        "In VictoriaMetrics (`api = \"victoriametrics\"`, docs/cluster.md) line protocol",
        "becomes series as VictoriaMetrics maps it: each numeric field the series",
        "`<measurement>_<field>`, the tags its labels. VictoriaMetrics keeps numbers only, so",
        "the edge writes a point's string fields as labels of one more series,",
        "`<measurement>__text` (valued at when the edge wrote it); each point stands at its",
        "whole second plus its revision in milliseconds (its newest write wins). Each",
        "measurement below names its series.",
    ]
    for spec in MEASUREMENTS.values():
        lines += ["", f"## `{spec.name}`", "", spec.doc, "",
                  f"Tags: {', '.join(f'`{t}`' for t in spec.tags)}", "",
                  _victoria_series(spec), "",
                  "| field | type | unit | meaning |", "|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.type} | {f.unit or ''} | {f.doc}"
                  f"{f' (plausible: {f.limits[0]:g} to {f.limits[1]:g})' if f.limits else ''} |"
                  for f in spec.fields.values()]
    return "\n".join(lines) + "\n"


def _victoria_series(spec: MeasurementSpec) -> str:
    numbers = [f"`{spec.name}_{f.name}`" for f in spec.fields.values() if f.type != "string"]
    words = [f"`{f.name}`" for f in spec.fields.values() if f.type == "string"]
    said = f"VictoriaMetrics: {', '.join(numbers)}" if numbers else "VictoriaMetrics:"
    if words:
        said += f"{';' if numbers else ''} labels {', '.join(words)} of `{spec.name}__text`"
    return said + "."


if __name__ == "__main__":
    print(markdown(), end="")
