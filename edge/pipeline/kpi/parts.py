"""Parts from the machine's own counters: good, scrap, or a total with rejects beside it,
each counted by its increase (a counter that goes back was reset)."""

from __future__ import annotations

from contract.reading import Reading
from edge.pipeline.kpi.context import MachineContext, Point
from edge.pipeline.kpi.material import Material
from edge.pipeline.kpi.memory import JobsMemory, OpenJob, PartsMemory
from edge.pipeline.kpi.windows import Windows


class Parts:
    def __init__(self, context: MachineContext, memory: PartsMemory, jobs: JobsMemory,
                 windows: Windows, material: Material) -> None:
        self.context, self.m, self.jobs = context, memory, jobs
        self.windows, self.material = windows, material

    def on_parts(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._counter(r.signal, float(r.value), r.time_ns, points)
        return True

    def _counter(self, signal: str, value: float, t: int, points: list[Point]) -> None:
        """A part counter's increase. Good and scrap counters count as they say; a total
        counter counts every part made, as good unless the machine has a good counter,
        and a reject counter beside a total moves its parts from good to scrap (good =
        total - rejects)."""
        m = self.m
        m.has_counters = True
        last = m.counts.get(signal)
        m.counts[signal] = value
        if last is None:
            return
        delta = value - last if value >= last else value
        if delta <= 0:
            return
        totals = "parts_produced" in m.counts and "parts_good" not in m.counts
        if signal == "parts_produced" and not totals:
            return  # good and scrap come from their own counters
        program = self.jobs.program
        stock_g = delta * self.context.stock_g(program)
        for window in self.windows.at(t):
            if signal == "parts_scrap":
                window.scrap += delta
                if totals:
                    window.good -= delta
                    window.scrap_g += stock_g
            else:
                window.good += delta
            if not (totals and signal == "parts_scrap"):  # a reject was counted as made
                window.ideal_s += delta * (self.context.ideal_cycle_s(program) or 0.0)
        if totals and signal == "parts_scrap":
            return  # its material was consumed when it was made
        self.material.consume(stock_g, t, points, scrap=signal == "parts_scrap")

    def of_job(self, job: OpenJob) -> tuple[float, float]:
        """Good and scrap parts of a job, from the counters the machine has."""
        counts = self.m.counts
        scrap = counts.get("parts_scrap", 0.0) - job.scrap
        if "parts_good" in counts or "parts_produced" not in counts:
            return counts.get("parts_good", 0.0) - job.good, scrap
        return counts["parts_produced"] - job.produced - scrap, scrap

    def at_start(self) -> tuple[float, float, float]:
        """The good, scrap and total counters where a job starts."""
        counts = self.m.counts
        return (counts.get("parts_good", 0.0), counts.get("parts_scrap", 0.0),
                counts.get("parts_produced", 0.0))
