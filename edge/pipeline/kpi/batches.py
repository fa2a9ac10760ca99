"""Batches (orders): a product made in a given quantity, on one machine or several, from
its start to its end on each. A job belongs to the batch running on its machine when it
ends, if it started within it. A verdict on one of its jobs changes the batch's good
parts (and so what remains) but not its first pass yield, which counts the good parts as
first judged. A ``batch`` point per batch, at its start, written again at each of its
jobs' ends, at each verdict and at its end (docs/metrics.md, batches)."""

from __future__ import annotations

from edge.pipeline.kpi.batch_figures import figures
from edge.pipeline.kpi.batch_memory import BatchesMemory, BatchJob, BatchRun, MachineSpan
from edge.pipeline.kpi.context import NS, OperatorRefused, Point
from edge.pipeline.kpi.memory import EndedJob
from edge.pipeline.kpi.products import Products

RECENT_BATCHES = 20
"""Ended batches kept for a late verdict."""


class Batches:
    def __init__(self, memory: BatchesMemory, site: str, products: Products) -> None:
        self.m, self.site, self.products = memory, site, products
        self.changed = False
        """Something to store since the engine last took the memory."""

    def told(self, machine: str, said: dict[str, float | str], t: int,
             points: list[Point]) -> None:
        """A batch started on a machine (again: nothing changes), or ended there."""
        self.changed = True
        batch = str(said["batch"])
        if said["batch_action"] == "start":
            self._start(machine, batch, said, t, points)
        else:
            self._end_told(machine, batch, t, points)

    def _start(self, machine: str, batch: str, said: dict[str, float | str], t: int,
               points: list[Point]) -> None:
        m, run, product = self.m, self.m.runs.get(batch), str(said["product"])
        if run is not None and m.on.get(machine) == batch and run.product == product:
            return  # the same start again: idempotent
        if run is not None and (run.end_ns is not None or run.product != product):
            why = "ended" if run.end_ns is not None else f"is of product {run.product!r}"
            raise OperatorRefused(f"batch: batch: {batch!r:.40} {why}; a new batch needs "
                                  "a new id")
        if machine in m.on:  # another batch begins on this machine: that one is over here
            self._end_on(machine, m.runs[m.on[machine]], t, points)
        if run is None:
            run = m.runs[batch] = BatchRun(batch, product, float(said["quantity"]), t)
        run.machines[machine] = MachineSpan(t)
        m.on[machine] = batch
        self._write(run, points)

    def _end_told(self, machine: str, batch: str, t: int, points: list[Point]) -> None:
        run = self.m.runs.get(batch)
        if self.m.on.get(machine) == batch and run is not None:
            self._end_on(machine, run, t, points)
        elif run is None or machine not in run.machines:  # an end again is no news
            running = self.m.on.get(machine)
            raise OperatorRefused(f"batch: batch: {batch!r:.40} is not running on {machine}"
                                  + (f" (running: {running!r})" if running else ""))

    def _end_on(self, machine: str, run: BatchRun, t: int, points: list[Point]) -> None:
        run.machines[machine].end_ns = t
        del self.m.on[machine]
        if all(span.end_ns is not None for span in run.machines.values()):
            run.end_ns = t
            self._forget_old()
        self._write(run, points)
        if run.end_ns is not None:
            self.products.batch_ended(run, self.figures(run), points)

    def _forget_old(self) -> None:
        ended = [run for run in self.m.runs.values() if run.end_ns is not None]
        for run in ended[:-RECENT_BATCHES]:
            del self.m.runs[run.batch]

    def job_ended(self, machine: str, job: EndedJob, points: list[Point]) -> None:
        batch = self.m.on.get(machine)
        run = self.m.runs.get(batch) if batch else None
        if run is None or job.start_ns < run.machines[machine].start_ns:
            return
        self.changed = True
        job.batch = run.batch
        span = run.machines[machine]
        if not span.first_job_ns:
            span.first_job_ns = job.start_ns
            self.products.setup(run, job.start_ns, (job.start_ns - span.start_ns) / NS)
        counted = BatchJob(machine, job.end_ns, (job.end_ns - job.start_ns) / NS, job.good,
                           job.scrap, job.good, 0.0, job.energy_kwh or 0.0, job.material_g,
                           job.recycled_g, dict(job.eur))
        run.jobs.append(counted)
        self._write(run, points)
        self.products.job(run, counted, points)

    def judged(self, machine: str, job: EndedJob, points: list[Point]) -> None:
        """A verdict on one of its jobs: the parts as now judged; the first verdict also
        sets the first-pass good parts."""
        run = self.m.runs.get(job.batch)
        counted = next((j for j in run.jobs if (j.machine, j.end_ns) == (machine, job.end_ns)),
                       None) if run else None
        if run is None or counted is None:
            return
        self.changed = True
        counted.good, counted.scrap, counted.rework = job.good, job.scrap, job.rework
        if not job.judged:
            counted.first_good = job.good - job.rework
        self._write(run, points)
        self.products.rejudged(run, counted, points)
        if run.end_ns is not None:
            self.products.batch_ended(run, self.figures(run), points)

    def figures(self, run: BatchRun) -> dict[str, float | str]:
        setup_s = sum((s.first_job_ns - s.start_ns) / NS for s in run.machines.values()
                      if s.first_job_ns)
        return figures(run.jobs, setup_s, self.products.co2e_kg_per_kwh,
                       self.products.labour_counted)

    def _write(self, run: BatchRun, points: list[Point]) -> None:
        found = self.figures(run)
        good = float(found["good_parts"])
        found |= {"quantity": run.quantity, "machines": float(len(run.machines)),
                  "remaining": run.quantity - good}
        if run.end_ns is not None:
            found |= {"ended": 1.0, "short": max(0.0, run.quantity - good)}
        points.append(Point("batch", (("site", self.site), ("batch", run.batch),
                                      ("product", run.product)),
                            tuple(found.items()), run.start_ns))
