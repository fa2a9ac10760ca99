"""Products: the figures of each product's batches per day and per month (``product``),
its learning curve (``learning``) and its series-readiness card (``readiness``); each
written again when a job of it ends or is judged, and at each of its batches' ends."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from edge.pipeline.kpi.batch_figures import figures
from edge.pipeline.kpi.batch_memory import (
    BatchJob,
    BatchRun,
    EndedBatch,
    ProductMemory,
    ProductWindow,
)
from edge.pipeline.kpi.context import NS, Point
from edge.pipeline.kpi.learning import fit, midpoints
from edge.pipeline.kpi.readiness import ReadinessSettings, card

KEEP_BATCHES = 30
"""Ended batches per product kept for the learning curve."""
KEEP_S = {"day": 40 * 86_400, "month": 400 * 86_400}
"""How long a window is kept after it began (a late verdict may change it)."""


class Products:
    def __init__(self, memory: dict[str, ProductMemory], site: str, timezone: str,
                 co2e_kg_per_kwh: float, labour_counted: bool,
                 readiness: ReadinessSettings, cost_targets: Mapping[str, float]) -> None:
        self.m, self.site, self.zone = memory, site, ZoneInfo(timezone)
        self.co2e_kg_per_kwh, self.labour_counted = co2e_kg_per_kwh, labour_counted
        self.readiness, self.cost_targets = readiness, cost_targets

    def job(self, run: BatchRun, job: BatchJob, points: list[Point]) -> None:
        product = self.m.setdefault(run.product, ProductMemory())
        for key in self._windows(job.end_ns):
            window = product.windows.setdefault(key, ProductWindow())
            window.jobs.append(job)
            if run.batch not in window.batches:
                window.batches.append(run.batch)
        self._forget_old(product, job.end_ns)
        self._write_windows(run.product, job.end_ns, points)

    def setup(self, run: BatchRun, first_job_ns: int, setup_s: float) -> None:
        product = self.m.setdefault(run.product, ProductMemory())
        for key in self._windows(first_job_ns):
            product.windows.setdefault(key, ProductWindow()).setup_s += setup_s

    def rejudged(self, run: BatchRun, job: BatchJob, points: list[Point]) -> None:
        """A verdict changed one of its jobs: the windows that hold it, as now judged."""
        windows = self.m[run.product].windows
        for key in self._windows(job.end_ns):
            if key not in windows:
                return  # a window forgotten since (KEEP_S): nothing to write again
            held = windows[key].jobs
            held[:] = [job if (j.machine, j.end_ns) == (job.machine, job.end_ns) else j
                       for j in held]
        self._write_windows(run.product, job.end_ns, points)

    def batch_ended(self, run: BatchRun, found: dict[str, float | str],
                    points: list[Point]) -> None:
        """A batch ended (or a verdict changed an ended one): its product's curve and card."""
        product = self.m.setdefault(run.product, ProductMemory())
        ended = EndedBatch(run.batch, run.end_ns or 0, float(found["good_parts"]),
                           float(found["run_s"]), found)
        kept = [b for b in product.ended if b.batch != run.batch]
        product.ended = sorted([*kept, ended], key=lambda b: b.end_ns)
        for dropped in product.ended[:-KEEP_BATCHES]:
            product.dropped_good += dropped.good
        product.ended = product.ended[-KEEP_BATCHES:]
        self._write_learning(run.product, product, points)
        self._write_card(run.product, product, points)

    def _write_learning(self, name: str, product: ProductMemory, points: list[Point]) -> None:
        last = product.ended[-1].end_ns
        found = fit(midpoints(product.ended, product.dropped_good))
        cumulative = product.dropped_good + sum(b.good for b in product.ended)
        fields = {**(found or {}), "cumulative_good": cumulative}
        points.append(Point("learning", (("site", self.site), ("product", name)),
                            tuple(fields.items()), last))

    def _write_card(self, name: str, product: ProductMemory, points: list[Point]) -> None:
        last = product.ended[-1].end_ns
        for criterion in card(product.ended, self.readiness, self.cost_targets.get(name)):
            fields: list[tuple[str, float | str]] = [
                ("limit", criterion.limit), ("passes", float(criterion.passes)),
                ("off_by", criterion.off_by)]
            if criterion.value is not None:
                fields.append(("value", criterion.value))
            points.append(Point("readiness", (("site", self.site), ("product", name),
                                               ("criterion", criterion.name)),
                                tuple(fields), last))

    def _write_windows(self, name: str, t: int, points: list[Point]) -> None:
        product = self.m[name]
        for key in self._windows(t):
            window = product.windows[key]
            found = figures(window.jobs, window.setup_s, self.co2e_kg_per_kwh,
                            self.labour_counted)
            found["batches"] = float(len(window.batches))
            kind, start = key.split(":")
            points.append(Point("product", (("site", self.site), ("product", name),
                                            ("window", kind)),
                                tuple(found.items()), int(start)))

    def _windows(self, t: int) -> tuple[str, str]:
        """The keys of the local day and month that hold ``t``."""
        day = datetime.fromtimestamp(t / NS, self.zone).replace(
            hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        return (f"day:{int(day.timestamp()) * NS}", f"month:{int(month.timestamp()) * NS}")

    @staticmethod
    def _forget_old(product: ProductMemory, t: int) -> None:
        for key in list(product.windows):
            kind, start = key.split(":")
            if int(start) < t - KEEP_S[kind] * NS:
                del product.windows[key]
