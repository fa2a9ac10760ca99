"""The series-readiness card: is a product ready for a series? Each criterion is judged
on its last batches (the worst of them counts), and the card says which fails and by how
much (docs/metrics.md, series readiness)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from pydantic import Field

from contract.model import StrictModel
from edge.pipeline.kpi.batch_memory import EndedBatch


class ReadinessSettings(StrictModel):
    """``[readiness]``: what a product's last batches must reach; the defaults are this
    project's suggestion for a small series, not a standard's."""

    batches: int = Field(default=3, ge=1, le=30)
    """How many of its last ended batches are judged."""
    fpy_min: float = Field(default=0.95, gt=0, le=1)
    """First pass yield each of them reaches at least."""
    cycle_cv_max: float = Field(default=0.10, gt=0)
    """Coefficient of variation of the time per good part each stays within."""


class Criterion(NamedTuple):
    name: str
    value: float | None
    """The worst of the last batches; None: unknown (a price missing)."""
    limit: float
    passes: bool
    off_by: float


def card(ended: Sequence[EndedBatch], settings: ReadinessSettings,
         cost_target: float | None) -> list[Criterion]:
    last = ended[-settings.batches:]
    found = [_at_least("batches", float(len(ended)), float(settings.batches))]
    found.append(_at_least("fpy", _worst(last, "fpy", min), settings.fpy_min))
    found.append(_at_most("cycle_cv", _worst(last, "cycle_cv", max), settings.cycle_cv_max))
    if cost_target is not None:
        found.append(_at_most("cost", _worst(last, "cost_per_good_part", max), cost_target))
    held = sum(c.passes for c in found)
    found.append(Criterion("ready", float(held), float(len(found)), held == len(found),
                           float(len(found) - held)))
    return found


def _worst(batches: Sequence[EndedBatch], figure: str,
           pick: Callable[[list[float]], float]) -> float | None:
    values = [b.figures.get(figure) for b in batches]
    known = [v for v in values if isinstance(v, float)]
    if not values or len(known) < len(values):
        return None  # a batch without it (no good parts, a price missing): unknown
    return pick(known)


def _at_least(name: str, value: float | None, limit: float) -> Criterion:
    if value is None:
        return Criterion(name, None, limit, False, 0.0)
    return Criterion(name, value, limit, value >= limit, max(0.0, limit - value))


def _at_most(name: str, value: float | None, limit: float) -> Criterion:
    if value is None:
        return Criterion(name, None, limit, False, 0.0)
    return Criterion(name, value, limit, value <= limit, max(0.0, value - limit))
