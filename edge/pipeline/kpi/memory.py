"""What the KPI stage remembers about a machine, and its form on disk.

Everything here is what the next reading needs to be counted right: the state and since
when, each meter's counter or power integral, the material and part counters, the open
job and the open (and recently closed) windows. It is kept in the durable buffer's file,
written in the same transaction as the points it produced, so a restarted edge goes on
exactly where its last committed batch left off (``edge/storage/buffer.py``).

The format is versioned: a file written by another version, or one that does not read
back, is refused with a message, never silently replaced (``circlemade run
--reset-state`` starts afresh on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

from contract.errors import Unavailable
from edge.pipeline.kpi.energy_counter import EnergyCounter, PowerIntegrator
from edge.pipeline.kpi.oee import WindowTotals

FORMAT_VERSION = 2
"""Raised whenever a field's meaning changes; a field added with a default keeps it.
2: one slice per calculator (1 had every field at the top, and still reads)."""
READS = frozenset({"1", "2"})
UNKNOWN = "unknown"
"""The state of a machine that has not said (a plug without ``power_thresholds``)."""


@dataclass
class OpenJob:
    start_ns: int
    name: str
    material_g: float
    """The machine's material consumed when the job started."""
    good: float
    scrap: float
    ideal_s: float | None = None
    energy_kwh: float = 0.0
    """The job's share of the energy its meters reported since it started."""
    recycled_g: float = 0.0
    lot: str = ""
    progress_pct: float | None = None
    """How far the device said it had come."""
    produced: float = 0.0
    """The machine's total part counter when the job started."""
    energy_eur: float | None = 0.0
    """What its energy cost by the tariffs (None: some of it fell in no band)."""
    material_eur: float = 0.0
    """The machine's material cost counter when the job started."""
    unpriced_g: float = 0.0
    """The machine's counter of grams without a price when the job started."""


@dataclass
class EndedJob:
    """A job as written, kept a while for a verdict that may change it."""

    name: str
    start_ns: int
    end_ns: int
    outcome: str
    good: float
    scrap: float
    material_g: float
    scrap_g: float
    energy_kwh: float | None
    recycled_g: float = 0.0
    lot: str = ""
    reason: str = ""
    by: str = ""
    scrap_reasons: list[str] = field(default_factory=list)
    """Reasons under which scrap points were written (a new verdict zeroes the others)."""
    progress_pct: float | None = None
    product: str = ""
    """What a person said it made (a verdict)."""
    air: dict[str, float] = field(default_factory=dict)
    """Its emission fingerprint: each air signal's rise at the sensor beside
    (``<signal>_rise``)."""
    material: str = ""
    """With a fingerprint: the material it was made of (fingerprints are by material)."""
    batch: str = ""
    """The batch it was made in."""
    eur: dict[str, float | None] = field(default_factory=dict)
    """Its cost by part (energy, material, machine, labour); None: a price is missing."""
    rework: float = 0.0
    """Of its good parts, those a verdict said were reworked."""
    judged: bool = False
    """A verdict came: its first one set the first-pass good parts."""


@dataclass
class Stop:
    """A stretch of time the machine was not running, with its reason once told."""

    start_ns: int
    end_ns: int | None = None
    reason: str = "unassigned"
    by: str = ""
    written: list[str] = field(default_factory=list)
    """Reasons under which its point was written (a new reason zeroes the others)."""
    in_fault: bool = False
    """It began with the machine in fault: a failure whatever its reason."""
    failure: bool = False
    """Counted as a failure (in fault, or a reason of [operator] failure_stops)."""


@dataclass
class Lot:
    """The material lot loaded in the machine."""

    lot: str
    material: str
    recycled_pct: float
    loaded_ns: int
    supplier: str = ""
    mass_g: float | None = None
    density_g_cm3: float | None = None
    consumed_g: float = 0.0
    price_per_kg: float | None = None
    """What the lot cost, EUR per kg, as loaded."""


@dataclass
class AlertState:
    """One alert rule on one machine: since when its condition holds, whether it fired."""

    since_ns: int = 0
    firing: bool = False
    energy_kwh: float = 0.0
    told_ns: int = 0
    """When it was last told (``repeat_min`` counts from there)."""
    """The energy the meters reported for the time since the condition began."""
    level: str = ""
    """The level it fired at (a rule with levels; noise: the period)."""
    threshold: float = 0.0
    """noise: the period's limit when it fired."""


@dataclass
class ClockMemory:
    """The machine's state and since when, and how far its time has been accounted."""

    state: str = UNKNOWN
    prior_state: str = UNKNOWN
    state_ns: int = 0
    """When the state last changed (from ``prior_state``)."""
    since_ns: int | None = None
    """How far the state's time has been accounted into windows."""
    last_seen_ns: int = 0
    device_states: bool = False
    """The device says its state: power thresholds do not."""
    silenced: str | None = None
    """The state before silence made the machine offline, restored when it speaks again."""


@dataclass
class EnergyMemory:
    counters: dict[str, EnergyCounter] = field(default_factory=dict)
    integrators: dict[str, PowerIntegrator] = field(default_factory=dict)
    power_w: float | None = None
    """The last power reported."""


@dataclass
class MaterialMemory:
    consumed_g: float = 0.0
    filament_mm: float = 0.0
    """The open job's filament so far, as the device counts it."""
    lot: Lot | None = None
    consumed_by: dict[str, float] = field(default_factory=dict)
    """Material consumed, cumulative per material."""
    cost_eur: float = 0.0
    """What the material consumed cost, cumulative (of the grams with a price)."""
    unpriced_g: float = 0.0
    """Grams consumed without a price (neither the lot's nor the material's), cumulative."""


@dataclass
class PartsMemory:
    counts: dict[str, float] = field(default_factory=dict)
    """Each part counter's last value."""
    has_counters: bool = False


@dataclass
class JobsMemory:
    program: str = ""
    program_ns: int = 0
    """When the program or job name last came."""
    last_end_ns: int = 0
    """When the last job ended: a name older than that belongs to an earlier job."""
    start_seen_ns: int = 0
    """When a start came that was taken for the open job's (announced again)."""
    remaining: tuple[float, int] | None = None
    """The slicer's last estimate of the time left, and when it came."""
    open: OpenJob | None = None
    ended: list[EndedJob] = field(default_factory=list)
    """The last jobs written, newest last (a verdict may still change them)."""


@dataclass
class StopsMemory:
    current: Stop | None = None
    ended: list[Stop] = field(default_factory=list)
    """The last stops that ended, newest last (a reason may still come for them)."""


@dataclass
class WindowsMemory:
    open: dict[str, dict[int, WindowTotals]] = field(default_factory=dict)
    """Kind -> start -> totals: the open windows and those closed less than ``KEEP_NS``
    ago (a late reading updates them and they are written again)."""
    settled_ns: int = 0
    """Windows that ended before this are written for good and forgotten."""


@dataclass
class PartLife:
    """One counter of a component: what it has done since installed or replaced."""

    counted: float = 0.0
    """Counted by the edge since the part was installed (or replaced); hours are counted
    in ``counted_ns``, ``days`` from ``since_ns``."""
    counted_ns: int = 0
    """Hours counted, in whole nanoseconds: a sum of ticks must land on 2.7 h exactly."""
    at_service: float = 0.0
    """Its total at the last service or replacement."""
    replaced: bool = False
    """A new part: the config's ``initial`` was the old one's."""
    since_ns: int = 0
    """When the edge first saw it (or it was replaced)."""


@dataclass
class LifetimeMemory:
    machine: dict[str, float] = field(default_factory=dict)
    """The machine's own counts, by counter name (hours in ``machine_ns``, ``days``
    from ``since_ns``)."""
    machine_ns: dict[str, int] = field(default_factory=dict)
    """The machine's hour counters, in nanoseconds."""
    since_ns: int = 0
    """When the edge first saw the machine."""
    parts: dict[str, PartLife] = field(default_factory=dict)
    """By ``<component>/<counts>``."""
    levels: dict[str, float] = field(default_factory=dict)
    """The last value of each signal a component's ``only_while`` watches."""
    status: dict[str, str] = field(default_factory=dict)
    """Each component's status as last written."""
    status_ns: dict[str, int] = field(default_factory=dict)
    """When each component's status last changed."""
    written_hour_ns: int = 0
    """The hour whose end was last written."""
    done: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Each component's last maintenance: the action and when."""


@dataclass
class PeriodNoise:
    name: str
    start_ns: int
    end_ns: int
    limit_db: float
    energy_s: float = 0.0
    seconds: float = 0.0
    lmax_db: float = 0.0
    minutes_over: int = 0
    machines_over: dict[str, int] = field(default_factory=dict)
    """Machine -> the minutes over the limit during which it ran."""


@dataclass
class NoiseMemory:
    last_ns: int = 0
    """The last reading's time: the next one covers the time since."""
    minute_ns: int = 0
    """The open minute's start."""
    energy_s: float = 0.0
    seconds: float = 0.0
    hour: list[tuple[int, float, float]] = field(default_factory=list)
    """The closed minutes of the last hour: (start, Σ 10^(L/10) t, seconds)."""
    periods: dict[int, PeriodNoise] = field(default_factory=dict)
    """By start: the periods open (a sound sensor's: edge/pipeline/kpi/noise.py)."""
    ended: list[PeriodNoise] = field(default_factory=list)
    """Periods that ended and are not yet told (the period-end alert): kept with the
    memory, so a restart between the two does not forget them."""


@dataclass
class MachineMemory:
    """One slice per calculator of the KPI stage, each written only by its owner."""

    clock: ClockMemory = field(default_factory=ClockMemory)
    energy: EnergyMemory = field(default_factory=EnergyMemory)
    material: MaterialMemory = field(default_factory=MaterialMemory)
    parts: PartsMemory = field(default_factory=PartsMemory)
    jobs: JobsMemory = field(default_factory=JobsMemory)
    stops: StopsMemory = field(default_factory=StopsMemory)
    windows: WindowsMemory = field(default_factory=WindowsMemory)
    alerts: dict[str, AlertState] = field(default_factory=dict)
    lifetime: LifetimeMemory = field(default_factory=LifetimeMemory)
    noise: NoiseMemory = field(default_factory=NoiseMemory)


FORMAT_1_SLICES = {
    "clock": {"state": "state", "prior_state": "prior_state", "state_ns": "state_ns",
              "since_ns": "since_ns", "last_seen_ns": "last_seen_ns",
              "device_states": "device_states", "silenced": "silenced"},
    "energy": {"counters": "counters", "integrators": "integrators", "power_w": "power_w"},
    "material": {"consumed_g": "consumed_g", "filament_mm": "filament_mm", "lot": "lot",
                 "consumed_by": "consumed_by"},
    "parts": {"parts": "counts", "has_counters": "has_counters"},
    "jobs": {"program": "program", "program_ns": "program_ns", "last_end_ns": "last_end_ns",
             "start_seen_ns": "start_seen_ns", "remaining": "remaining", "job": "open",
             "ended": "ended"},
    "stops": {"stop": "current", "stops": "ended"},
    "windows": {"windows": "open", "settled_ns": "settled_ns"},
}
"""Format 1 kept every field at the top: where each one lives now."""


def _from_format_1(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {"alerts": flat.get("alerts", {})}
    for slice_name, fields in FORMAT_1_SLICES.items():
        nested[slice_name] = {new: flat[old] for old, new in fields.items() if old in flat}
    return nested


class StateRefused(Unavailable):
    """Stored KPI state that this version cannot take; the text says what to do."""


T = TypeVar("T")
_MACHINE = TypeAdapter(MachineMemory)
_ALERTS = TypeAdapter(dict[str, AlertState])


def dump(memory: MachineMemory | dict[str, AlertState]) -> bytes:
    return orjson.dumps(memory, option=orjson.OPT_NON_STR_KEYS)


def load(blob: bytes, where: str) -> MachineMemory:
    """A machine's memory, in format 2 or (as an edge of the version before wrote it) 1."""
    try:
        raw = orjson.loads(blob)
    except orjson.JSONDecodeError as exc:
        raise StateRefused(f"{where}: stored KPI state does not read back ({exc})") from None
    if isinstance(raw, dict) and isinstance(raw.get("state"), str):
        blob = orjson.dumps(_from_format_1(raw))
    return _read(_MACHINE, blob, where)


class SiteRow(Generic[T]):
    """How one of the site's memories (batches, grid, air) is kept: its row in the
    buffer's ``kpi_state`` (no machine id starts with @) and its JSON."""

    def __init__(self, kind: type[T], key: str, what: str) -> None:
        self.adapter, self.key, self.what = TypeAdapter(kind), key, what

    def dump(self, memory: T) -> bytes:
        return self.adapter.dump_json(memory)

    def load(self, blob: bytes) -> T:
        try:
            return self.adapter.validate_json(blob)
        except ValueError as exc:
            raise StateRefused(f"{self.key}: stored {self.what} state does not read back "
                               f"({exc})") from None


def load_alerts(blob: bytes, where: str) -> dict[str, AlertState]:
    """The edge's own alert states (edge/service/edge_alerts.py), kept beside the machines'."""
    return _read(_ALERTS, blob, where)


def _read(adapter: TypeAdapter[T], blob: bytes, where: str) -> T:
    try:
        return adapter.validate_json(blob)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        raise StateRefused(f"{where}: stored KPI state does not read back ({path}: "
                           f"{error['msg']})") from None
