"""Batches (orders): a product made in a given quantity, from its start to its end on a
machine. Jobs that start within it belong to it; a verdict on one of them changes the
batch's good parts (and so what remains) but not its first pass yield, which counts the
good parts as first judged. A ``batch`` point per batch, at its start, written again at
each of its jobs' ends, at each verdict and at its end (docs/metrics.md, batches)."""

from __future__ import annotations

from statistics import median, pstdev

from edge.pipeline.kpi.context import NS, MachineContext, OperatorRefused, Point
from edge.pipeline.kpi.memory import BatchesMemory, BatchJob, BatchRun, EndedJob
from edge.pipeline.kpi.stops import RECENT


class Batches:
    def __init__(self, context: MachineContext, memory: BatchesMemory) -> None:
        self.context, self.m = context, memory

    def told(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        """A batch started (again: nothing changes) or ended."""
        batch = str(said["batch"])
        current = self.m.current
        if said["batch_action"] == "start":
            if current is not None and current.batch == batch:
                return  # the same start again: idempotent
            if current is not None:
                self._end(current, t, points)  # another batch begins: this one is over
            self.m.current = BatchRun(batch, str(said["product"]), float(said["quantity"]), t)
            self._write(self.m.current, points)
            return
        if current is not None and current.batch == batch:
            self._end(current, t, points)
        elif not any(run.batch == batch for run in self.m.ended):
            raise OperatorRefused(f"batch: batch: {batch!r:.40} is not running on "
                                  f"{self.context.machine.id}"
                                  + (f" (running: {current.batch!r})" if current else ""))

    def job_ended(self, job: EndedJob, points: list[Point]) -> None:
        run = self.m.current
        if run is None or job.start_ns < run.start_ns:
            return
        job.batch = run.batch
        if not run.first_job_ns:
            run.first_job_ns = job.start_ns
        run.jobs.append(BatchJob(job.end_ns, (job.end_ns - job.start_ns) / NS, job.good,
                                 job.scrap, job.good, job.energy_kwh or 0.0, job.material_g))
        self._write(run, points)

    def judged(self, job: EndedJob, points: list[Point]) -> None:
        """A verdict on one of its jobs: the parts as now judged; the first verdict also
        sets the first-pass good parts."""
        run = next((r for r in [*self.m.ended, *([self.m.current] if self.m.current else [])]
                    if r.batch == job.batch), None) if job.batch else None
        counted = next((j for j in run.jobs if j.end_ns == job.end_ns), None) if run else None
        if run is None or counted is None:
            return
        counted.good, counted.scrap = job.good, job.scrap
        if not job.judged:
            counted.first_good = job.good
        self._write(run, points)

    def _end(self, run: BatchRun, t: int, points: list[Point]) -> None:
        run.end_ns = t
        self.m.current = None
        self.m.ended = [*self.m.ended, run][-RECENT:]
        self._write(run, points)

    def _write(self, run: BatchRun, points: list[Point]) -> None:
        points.append(Point("batch", self.context.tags(("batch", run.batch),
                                                       ("product", run.product)),
                            tuple(figures(run).items()), run.start_ns))


def figures(run: BatchRun) -> dict[str, float]:
    """The batch's figures, by the formulas of docs/metrics.md."""
    good = sum(j.good for j in run.jobs)
    parts = good + sum(j.scrap for j in run.jobs)
    found: dict[str, float] = {"quantity": run.quantity, "jobs": float(len(run.jobs)),
                               "parts": parts, "good_parts": good,
                               "remaining": run.quantity - good}
    if parts:
        found["fpy"] = sum(j.first_good for j in run.jobs) / parts
    if run.first_job_ns:
        found["setup_s"] = (run.first_job_ns - run.start_ns) / NS
    per_part = [j.seconds / j.good for j in run.jobs if j.good > 0]
    if per_part:
        found["cycle_s"] = median(per_part)
    if len(per_part) >= 2:
        mean = sum(per_part) / len(per_part)
        found["cycle_cv"] = pstdev(per_part) / mean
    energy, material = sum(j.energy_kwh for j in run.jobs), sum(j.material_g for j in run.jobs)
    found |= {"energy_kwh": energy, "material_g": material}
    if good:
        found |= {"kwh_per_good_part": energy / good, "g_per_good_part": material / good}
    if run.end_ns is not None:
        found |= {"ended": 1.0, "short": max(0.0, run.quantity - good)}
    return found
