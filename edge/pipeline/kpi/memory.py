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
from typing import TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

from contract.errors import Unavailable
from edge.pipeline.kpi.energy_counter import EnergyCounter, PowerIntegrator
from edge.pipeline.kpi.oee import WindowTotals

FORMAT_VERSION = 1
"""Raised whenever a field's meaning changes; a field added with a default keeps it."""
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


@dataclass
class Stop:
    """A stretch of time the machine was not running, with its reason once told."""

    start_ns: int
    end_ns: int | None = None
    reason: str = "unassigned"
    by: str = ""
    written: list[str] = field(default_factory=list)
    """Reasons under which its point was written (a new reason zeroes the others)."""


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


@dataclass
class AlertState:
    """One alert rule on one machine: since when its condition holds, whether it fired."""

    since_ns: int = 0
    firing: bool = False
    energy_kwh: float = 0.0
    told_ns: int = 0
    """When it was last told (``repeat_min`` counts from there)."""
    """The energy the meters reported for the time since the condition began."""


@dataclass
class MachineMemory:
    state: str = UNKNOWN
    prior_state: str = UNKNOWN
    state_ns: int = 0
    """When the state last changed (from ``prior_state``)."""
    since_ns: int | None = None
    """How far the state's time has been accounted into windows."""
    last_seen_ns: int = 0
    device_states: bool = False
    counters: dict[str, EnergyCounter] = field(default_factory=dict)
    integrators: dict[str, PowerIntegrator] = field(default_factory=dict)
    consumed_g: float = 0.0
    filament_mm: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    has_counters: bool = False
    program: str = ""
    program_ns: int = 0
    """When the program or job name last came."""
    last_end_ns: int = 0
    """When the last job ended: a name older than that belongs to an earlier job."""
    start_seen_ns: int = 0
    """When a start came that was taken for the open job's (announced again)."""
    remaining: tuple[float, int] | None = None
    """The slicer's last estimate of the time left, and when it came."""
    silenced: str | None = None
    """The state before silence made the machine offline, restored when it speaks again."""
    job: OpenJob | None = None
    windows: dict[str, dict[int, WindowTotals]] = field(default_factory=dict)
    """Kind -> start -> totals: the open windows and those closed less than
    ``LATE_S`` ago (a late reading updates them and they are written again)."""
    settled_ns: int = 0
    """Windows that ended before this are written for good and forgotten."""
    ended: list[EndedJob] = field(default_factory=list)
    """The last jobs written, newest last (a verdict may still change them)."""
    stop: Stop | None = None
    stops: list[Stop] = field(default_factory=list)
    """The last stops that ended, newest last (a reason may still come for them)."""
    lot: Lot | None = None
    consumed_by: dict[str, float] = field(default_factory=dict)
    """Material consumed, cumulative per material."""
    power_w: float | None = None
    """The last power reported."""
    alerts: dict[str, AlertState] = field(default_factory=dict)


class StateRefused(Unavailable):
    """Stored KPI state that this version cannot take; the text says what to do."""


T = TypeVar("T")
_MACHINE = TypeAdapter(MachineMemory)
_ALERTS = TypeAdapter(dict[str, AlertState])


def dump(memory: MachineMemory | dict[str, AlertState]) -> bytes:
    return orjson.dumps(memory, option=orjson.OPT_NON_STR_KEYS)


def load(blob: bytes, where: str) -> MachineMemory:
    return _read(_MACHINE, blob, where)


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
