"""What the KPI stage remembers of the air at the site's sensors, and its form on disk:
each sensor's last values, its last minutes (for a job's baseline), its open hour and
day; each machine's open job's air. The site's (a job's air is read at another machine's
sensor), kept in the buffer's file as row ``@air`` in the transaction of its points."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.pipeline.kpi.memory import AlertState, SiteRow

AIR_KEY = "@air"


@dataclass
class SensorAir:
    last: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Signal -> its last value and when: it holds until the next."""
    recent: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    """Signal -> its readings of the last ``baseline_min`` (and the one before)."""
    hour_ns: int = 0
    hour: dict[str, list[float]] = field(default_factory=dict)
    """Signal -> [Σ value x s, s] in the open clock hour."""
    day_ns: int = 0
    day: dict[str, float] = field(default_factory=dict)
    """The day so far: hours over, and Σ value x s and s per signal."""


@dataclass
class JobAir:
    start_ns: int
    baseline: dict[str, float] = field(default_factory=dict)
    """Signal -> its mean in the baseline minutes before the start."""
    sums: dict[str, list[float]] = field(default_factory=dict)
    """Signal -> [Σ value x s, s] since the start."""


@dataclass
class AirMemory:
    sensors: dict[str, SensorAir] = field(default_factory=dict)
    jobs: dict[str, JobAir] = field(default_factory=dict)
    """Machine -> its open job's air, at the sensor beside it."""
    alerts: dict[str, AlertState] = field(default_factory=dict)
    """``<entry>:<sensor>`` -> the ``air`` alert's state."""


ROW = SiteRow(AirMemory, AIR_KEY, "air")
dump_air = ROW.dump
load_air = ROW.load
