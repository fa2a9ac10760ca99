"""What people on the shop floor tell the edge, over MQTT: a verdict on a job, the reason
for a stop, the material lot in a machine. The terminal page publishes the same messages,
and so may Node-RED, a push button or an MES; they are recorded and replayed like any
device's. The contract (fields may be added, never renamed)::

    circlemade/<site>/<machine>/verdict   {"good": 3, "scrap": 1, "reason": "warping",
        "job": "bracket_v3.gcode", "by": "amina", "time": "2026-12-03T10:42:00Z"}
    circlemade/<site>/<machine>/downtime  {"reason": "waiting_material",
        "from": "2026-12-03T09:10:00Z", "to": "2026-12-03T09:50:00Z", "by": "amina"}
    circlemade/<site>/<machine>/material  {"action": "load", "lot": "RPETG-2026-118",
        "material": "PETG", "recycled_pct": 100, "supplier": "Filamentz Brussels",
        "mass_g": 1000}
    circlemade/<site>/<machine>/material  {"action": "unload", "remaining_g": 412}
    circlemade/<site>/<machine>/maintenance  {"component": "hotend",
        "action": "serviced", "note": "new nozzle", "by": "amina"}
    circlemade/<site>/<machine>/batch  {"action": "start", "batch": "B-2026-041",
        "product": "hinge", "quantity": 48}
    circlemade/<site>/<machine>/batch  {"action": "end", "batch": "B-2026-041"}

``time`` (ISO 8601) defaults to arrival; a verdict's ``job`` to the machine's last ended
job; a downtime without ``from`` and ``to`` is for the stop in progress, or the last one.
Reasons come from ``[operator]`` in the config. What does not fit (an unknown machine or
reason, a negative count, a field that is not in the contract) is refused with a message
saying what was expected; what the KPI stage cannot apply (a verdict for a job it does not
know, an unload without a load) is refused there. A maintenance names a component of
the machine (``[[machines.components]]``, or ``machine``): serviced, replaced or
inspected. Each message becomes readings of one
instant that end with ``action``, the signal the KPI stage acts on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from contract.model import TOPIC_LEVELS_PATTERN, Identifier, StrictModel
from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import json_object

PLANNED_STOPS = ["changeover", "maintenance", "break", "no_order", "cleaning"]
UNPLANNED_STOPS = ["fault", "waiting_material", "waiting_operator", "tooling",
                   "quality_check"]
SCRAP_REASONS = ["warping", "layer_shift", "stringing", "dimensions", "surface",
                 "material_defect", "setup", "other"]


class OperatorSettings(StrictModel):
    """What people on the floor tell the edge, over MQTT: verdicts on jobs, reasons for
    stops, the material lot in a machine (docs/operators.md). Reasons follow the ISO 22400
    and UMH classes by default; a workshop may name its own."""

    enabled: bool | None = None
    """Default: on when its broker is defined (an OPC UA-only edge has none)."""
    broker: Identifier = "main"
    """The broker operator input comes over."""
    prefix: str = Field(default="circlemade", pattern=TOPIC_LEVELS_PATTERN)
    """Topics are ``<prefix>/<site>/<machine>/verdict|downtime|material|maintenance``."""
    planned_stops: list[Identifier] = Field(default_factory=lambda: list(PLANNED_STOPS))
    """Stop reasons that are planned (not counted against availability)."""
    unplanned_stops: list[Identifier] = Field(default_factory=lambda: list(UNPLANNED_STOPS))
    """Stop reasons that are losses."""
    scrap_reasons: list[Identifier] = Field(default_factory=lambda: list(SCRAP_REASONS))
    """Reasons a verdict may give for scrap."""
    failure_stops: list[Identifier] = Field(default_factory=lambda: ["fault"])
    """Stop reasons that are failures, for MTBF and MTTR (a stop that begins in the state
    fault is one too); each also among unplanned_stops."""


KINDS = ("verdict", "downtime", "material", "maintenance", "batch")
Text = Annotated[str, Field(min_length=1, max_length=200)]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a time needs its zone, e.g. 2026-12-03T10:42:00Z")
    return moment


Moment = Annotated[datetime, AfterValidator(_aware)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Text | None = None
    time: Moment | None = None


class Verdict(_Input):
    good: int = Field(default=0, ge=0, le=100_000)
    scrap: int = Field(default=0, ge=0, le=100_000)
    rework: int = Field(default=0, ge=0, le=100_000)
    """Of the good parts, how many were good only after rework (not first pass)."""
    reason: Text | None = None
    job: Text | None = None
    product: Text | None = None
    """What the job made, for reports: wins over the config's product patterns."""


class Downtime(_Input):
    reason: Text
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None


class Load(_Input):
    action: Literal["load"]
    lot: Text
    material: Text
    recycled_pct: float = Field(default=0.0, ge=0, le=100)
    supplier: Text | None = None
    mass_g: float | None = Field(default=None, gt=0, le=1_000_000)
    density_g_cm3: float | None = Field(default=None, gt=0, le=25)
    price_per_kg: float | None = Field(default=None, ge=0, le=100_000)
    """EUR per kg of this lot: wins over the config's price of its material."""


class Unload(_Input):
    action: Literal["unload"]
    lot: Text | None = None
    remaining_g: float | None = Field(default=None, ge=0, le=1_000_000)


class Maintenance(_Input):
    component: Text
    action: Literal["serviced", "replaced", "inspected"]
    note: Text | None = None


class Batch(_Input):
    action: Literal["start", "end"]
    batch: Text
    product: Text | None = None
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)


class OperatorDecoder:
    """Decodes ``<prefix>/<site>/<machine>/<kind>`` for the machines of one site."""

    def __init__(self, site: str, machines: set[str], settings: OperatorSettings,
                 materials: set[str], others: frozenset[str] = frozenset(),
                 components: dict[str, set[str]] | None = None) -> None:
        """``others``: machines another shard of the edge runs: what is said of them is
        theirs, ignored here (not bad input). ``components``: each machine's, besides
        ``machine``."""
        self.site, self.machines, self.settings = site, machines, settings
        self.components = components or {}
        self.materials, self.others = materials, others
        self.topic = f"{settings.prefix}/{site}/+/+"

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        parts = topic.split("/")
        if len(parts) >= 2 and parts[-2] in self.others:
            return []
        machine, kind = self._address(topic)
        document = json_object(payload)
        try:
            if kind == "verdict":
                readings = self._verdict(Verdict.model_validate(document))
            elif kind == "downtime":
                readings = self._downtime(Downtime.model_validate(document))
            elif kind == "maintenance":
                readings = self._maintenance(machine, Maintenance.model_validate(document))
            elif kind == "batch":
                readings = self._batch(Batch.model_validate(document))
            elif document.get("action") == "unload":
                readings = self._unload(Unload.model_validate(document))
            else:
                readings = self._load(Load.model_validate(document))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or kind
            raise DecodeError(f"{kind}: {where}: {error['msg']}") from None
        moment = document.get("time")
        time_ns = received_ns
        if moment is not None:
            stamp = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
            time_ns = int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
        return [Reading(self.site, machine, signal, value, None, time_ns)
                for signal, value in readings if value is not None]

    def _address(self, topic: str) -> tuple[str, str]:
        prefix = f"{self.settings.prefix}/{self.site}/"
        rest = topic[len(prefix):].split("/") if topic.startswith(prefix) else []
        if len(rest) != 2 or rest[1] not in KINDS:
            raise DecodeError(f"topic {topic!r:.80}: expected {prefix}<machine>/"
                              f"{'|'.join(KINDS)}")
        if rest[0] not in self.machines:
            raise DecodeError(f"unknown machine {rest[0]!r:.40}; known are "
                              f"{', '.join(sorted(self.machines))}")
        return rest[0], rest[1]

    def _verdict(self, verdict: Verdict) -> list[tuple[str, Any]]:
        if verdict.good + verdict.scrap == 0:
            raise DecodeError("verdict: good or scrap: expected at least one part")
        if verdict.rework > verdict.good:
            raise DecodeError("verdict: rework: expected at most the good parts (a reworked "
                              "part is counted among the good)")
        self._known(verdict.reason, self.settings.scrap_reasons, "reason")
        return [("verdict_good", float(verdict.good)), ("verdict_scrap", float(verdict.scrap)),
                ("verdict_rework", float(verdict.rework) if verdict.rework else None),
                ("reason", verdict.reason), ("job", verdict.job), ("by", verdict.by),
                ("product", verdict.product), ("action", "verdict")]

    def _downtime(self, downtime: Downtime) -> list[tuple[str, Any]]:
        settings = self.settings
        self._known(downtime.reason, settings.planned_stops + settings.unplanned_stops,
                    "reason")
        if (downtime.from_ is None) != (downtime.to is None):
            raise DecodeError("downtime: from, to: give both, or neither (the stop in "
                              "progress, or the last one)")
        if downtime.from_ is not None and downtime.to is not None \
                and downtime.to <= downtime.from_:
            raise DecodeError("downtime: to: expected a time after from")
        return [("reason", downtime.reason),
                ("from_s", downtime.from_.timestamp() if downtime.from_ else None),
                ("to_s", downtime.to.timestamp() if downtime.to else None),
                ("by", downtime.by), ("action", "downtime")]

    def _load(self, load: Load) -> list[tuple[str, Any]]:
        if load.density_g_cm3 is None and load.material.upper() not in self.materials:
            raise DecodeError(f"material: material: unknown material {load.material!r:.40}; "
                              f"known are {', '.join(sorted(self.materials))} (or give "
                              "density_g_cm3)")
        return [("lot", load.lot), ("lot_material", load.material),
                ("recycled_pct", load.recycled_pct), ("supplier", load.supplier),
                ("mass_g", load.mass_g), ("density_g_cm3", load.density_g_cm3),
                ("price_per_kg", load.price_per_kg),
                ("by", load.by), ("action", "load")]

    def _maintenance(self, machine: str, done: Maintenance) -> list[tuple[str, Any]]:
        known = {"machine", *self.components.get(machine, set())}
        if done.component not in known:
            raise DecodeError(f"maintenance: component: unknown component "
                              f"{done.component!r:.40} of {machine}; known are "
                              f"{', '.join(sorted(known))} ([[machines.components]])")
        return [("component", done.component), ("maintenance_action", done.action),
                ("note", done.note), ("by", done.by), ("action", "maintenance")]

    @staticmethod
    def _batch(batch: Batch) -> list[tuple[str, Any]]:
        if batch.action == "start" and (batch.product is None or batch.quantity is None):
            raise DecodeError("batch: product, quantity: a batch starts with both, e.g. "
                              '{"action": "start", "batch": "B-1", "product": "hinge", '
                              '"quantity": 48}')
        return [("batch", batch.batch), ("product", batch.product),
                ("quantity", float(batch.quantity) if batch.quantity else None),
                ("batch_action", batch.action), ("by", batch.by), ("action", "batch")]

    def _unload(self, unload: Unload) -> list[tuple[str, Any]]:
        return [("lot", unload.lot), ("remaining_g", unload.remaining_g), ("by", unload.by),
                ("action", "unload")]

    @staticmethod
    def _known(reason: str | None, known: list[str], field: str) -> None:
        if reason is not None and reason not in known:
            raise DecodeError(f"{field}: unknown reason {reason!r:.40}; known are "
                              f"{', '.join(known)} ([operator] in the config)")
