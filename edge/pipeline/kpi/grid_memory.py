"""What the KPI stage remembers of the site's grid connection, and its form on disk.

The quarters still open, the month's peak and bill, the last months' peaks and the
export counter: the site's, not a machine's, kept in the buffer's file beside the
machines' memory (row ``@grid``) in the transaction of the points it produced, so a
restart in the middle of a quarter goes on counting the same quarter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.pipeline.kpi.energy_counter import EnergyCounter
from edge.pipeline.kpi.memory import SiteRow

GRID_KEY = "@grid"
"""Its row in the buffer's ``kpi_state`` (no machine id starts with @)."""


@dataclass
class Quarter:
    start_ns: int
    import_kwh: float = 0.0
    export_kwh: float = 0.0
    until_ns: int = 0
    """How far the grid meter has reported in it."""
    counted_ns: int = 0
    """How much of it the grid meter reported on (less than 900 s: it was silent a
    while)."""
    machines: dict[str, float] = field(default_factory=dict)
    """kWh each metered machine drew in it."""
    jobs: dict[str, list[str]] = field(default_factory=dict)
    """The jobs open on each machine while it drew."""
    meter_avg_kw: float | None = None
    """The meter's own average of it, as last read within it."""


@dataclass
class MonthPeak:
    month: str
    """The local month, e.g. ``2026-03``."""
    peak_kw: float | None = None
    peak_ns: int = 0
    """Its peak quarter's start."""
    shares: dict[str, float] = field(default_factory=dict)
    """kW of each machine (and ``unmetered``) in the peak quarter."""
    jobs: dict[str, list[str]] = field(default_factory=dict)
    meter_peak_kw: float | None = None
    meter_peak_ns: int = 0
    late_kwh: float = 0.0
    bill: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    """Machine -> band -> [kWh, EUR (None: no price)]."""


@dataclass
class Guarded:
    """A ``peak`` rule's alert: the quarter it fired in (0: not firing) and the
    threshold it was measured against."""

    quarter_ns: int = 0
    threshold_kw: float = 0.0


@dataclass
class GridMemory:
    quarters: dict[int, Quarter] = field(default_factory=dict)
    """By start: the quarters not yet settled."""
    settled_ns: int = 0
    """The end of the last quarter written: energy before it comes too late."""
    months: dict[str, MonthPeak] = field(default_factory=dict)
    """The months whose quarters are still written (this one, and the last one until
    its last quarter settles)."""
    peaks: dict[str, float] = field(default_factory=dict)
    """The billed peak of each month that ended, the last twelve."""
    heard_ns: int = 0
    """When the grid meter last reported."""
    export: EnergyCounter | None = None
    export_w: float = 0.0
    guards: dict[int, Guarded] = field(default_factory=dict)
    """By ``[[alerts]]`` entry."""


ROW = SiteRow(GridMemory, GRID_KEY, "grid")
dump_grid = ROW.dump
load_grid = ROW.load
