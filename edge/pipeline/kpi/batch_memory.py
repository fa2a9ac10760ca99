"""What the KPI stage remembers of the site's batches and products, and its form on disk.

A batch may run on several machines, so this is the site's, not a machine's: kept in
the buffer's file beside the machines' memory (row ``@batches``), in the transaction of
the points it produced, so a restart goes on where the last committed batch left off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.pipeline.kpi.memory import SiteRow

KEY = "@batches"
"""Its row in the buffer's ``kpi_state`` (no machine id starts with @)."""


@dataclass
class BatchJob:
    """A job of a batch, as the batch counts it."""

    machine: str
    end_ns: int
    seconds: float
    good: float
    scrap: float
    first_good: float
    """Good parts as first judged (the device's word, or the first verdict), less those
    reworked."""
    rework: float = 0.0
    energy_kwh: float = 0.0
    material_g: float = 0.0
    recycled_g: float = 0.0
    eur: dict[str, float | None] = field(default_factory=dict)
    """Its cost by part; None: a price is missing."""


@dataclass
class MachineSpan:
    """The batch on one machine: from its start there to its end there."""

    start_ns: int
    first_job_ns: int = 0
    end_ns: int | None = None


@dataclass
class BatchRun:
    batch: str
    product: str
    quantity: float
    start_ns: int
    machines: dict[str, MachineSpan] = field(default_factory=dict)
    jobs: list[BatchJob] = field(default_factory=list)
    end_ns: int | None = None
    """When it ended on the last machine it ran on."""


@dataclass
class ProductWindow:
    """A product's batches' jobs that ended in one day or month."""

    jobs: list[BatchJob] = field(default_factory=list)
    setup_s: float = 0.0
    """Setups whose first job started in the window."""
    batches: list[str] = field(default_factory=list)


@dataclass
class EndedBatch:
    """What the learning curve and the readiness card read of an ended batch."""

    batch: str
    end_ns: int
    good: float
    run_s: float
    figures: dict[str, float | str] = field(default_factory=dict)


@dataclass
class ProductMemory:
    ended: list[EndedBatch] = field(default_factory=list)
    """Its last ended batches, oldest first (``KEEP_BATCHES``)."""
    dropped_good: float = 0.0
    """Good parts of its batches no longer kept: where the kept ones' cumulative starts."""
    windows: dict[str, ProductWindow] = field(default_factory=dict)
    """By ``<day|month>:<start ns>``, the open ones and the last few."""


@dataclass
class BatchesMemory:
    runs: dict[str, BatchRun] = field(default_factory=dict)
    """The running batches and the last that ended (a verdict may still change them)."""
    on: dict[str, str] = field(default_factory=dict)
    """Machine -> the batch running on it."""
    products: dict[str, ProductMemory] = field(default_factory=dict)


ROW = SiteRow(BatchesMemory, KEY, "batch")
dump_batches = ROW.dump
load_batches = ROW.load
