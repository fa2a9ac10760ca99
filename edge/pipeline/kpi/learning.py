"""Wright's law over a product's batches: the time per good part falls by the same share
each time the cumulative good parts double, T(x) = a x^b, learning rate 2^b.

A batch's mean time per good part (its jobs' time / its good parts, setup apart) is
taken as the time of its midpoint part, cumulative good parts before it plus half its
own (the lot-midpoint form for a curve fitted over lots). The fit is least squares on
the logarithms; its 95 % confidence interval comes from Student's t with n - 2 degrees
of freedom (docs/metrics.md, learning curve)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean, linear_regression

from edge.pipeline.kpi.batch_memory import EndedBatch

MIN_BATCHES = 3
T_95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
"""Student's t, two-sided 95 %, for 1 to 30 degrees of freedom."""


def midpoints(batches: Sequence[EndedBatch], before: float) -> list[tuple[float, float]]:
    """(cumulative good parts at each batch's midpoint, its time per good part), for the
    batches that made good parts; ``before``: good parts made before the first."""
    found = []
    for batch in batches:
        if batch.good > 0:
            found.append((before + batch.good / 2, batch.run_s / batch.good))
        before += batch.good
    return found


def fit(points: Sequence[tuple[float, float]]) -> dict[str, float] | None:
    """The learning rate and its interval, or None below three batches (or if they all
    sit at one x)."""
    if len(points) < MIN_BATCHES:
        return None
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    sxx = sum((x - fmean(xs)) ** 2 for x in xs)
    if sxx == 0:
        return None
    b, ln_a = linear_regression(xs, ys)
    sse = sum((y - ln_a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    sst = sum((y - fmean(ys)) ** 2 for y in ys)
    dof = len(points) - 2
    margin = T_95[min(dof, len(T_95)) - 1] * math.sqrt(sse / dof / sxx)
    return {"batches": float(len(points)), "learning_rate": 2 ** b,
            "learning_rate_low": 2 ** (b - margin), "learning_rate_high": 2 ** (b + margin),
            "r2": 1 - sse / sst if sst else 1.0, "first_part_s": math.exp(ln_a)}
