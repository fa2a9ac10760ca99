"""Jobs: a print, a program or a cut from its start to its end, with its name, parts,
material, energy and outcome, and the verdict a person may give it later."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from contract.reading import Reading
from edge.pipeline.kpi.context import NS, MachineContext, OperatorRefused, Point
from edge.pipeline.kpi.lifetime import Lifetime
from edge.pipeline.kpi.material import Material
from edge.pipeline.kpi.memory import EndedJob, EnergyMemory, JobsMemory, OpenJob
from edge.pipeline.kpi.parts import Parts
from edge.pipeline.kpi.stops import RECENT
from edge.pipeline.kpi.windows import Windows

if TYPE_CHECKING:
    from edge.pipeline.kpi.air import Air

FAILED = ("scrap", "aborted")


class Jobs:
    def __init__(self, context: MachineContext, memory: JobsMemory, energy: EnergyMemory,
                 windows: Windows, material: Material, parts: Parts,
                 ended: Callable[[EndedJob, list[Point]], None], lifetime: Lifetime,
                 judged: Callable[[EndedJob, list[Point]], None],
                 air: Air | None = None) -> None:
        """``ended``: told of every job that ends, after its point (the alerts, the
        batch); ``judged``: of every verdict on one, after its point (the batch);
        ``air``: the site's, for the job's emission fingerprint at the sensor beside."""
        self.context, self.m, self.energy, self.lifetime = context, memory, energy, lifetime
        self.judged, self.air = judged, air
        self.windows, self.material, self.parts, self.ended = windows, material, parts, ended

    def on_progress(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        if self.m.open is not None:
            self.m.open.progress_pct = float(r.value)
        return True

    def on_name(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        """A job or program name. It names the job that starts at the same instant
        (whether it comes before or after the start); a name that comes during a job
        names it at its end if it has none."""
        m, name, t = self.m, str(r.value), r.time_ns
        m.program, m.program_ns = name, t
        job = m.open
        if job is None:
            return True
        if t == job.start_ns:
            job.name = name
        elif t == m.start_seen_ns and name != job.name:
            # the start at this instant was taken for the open job's: it was another's
            self._end("unknown", t, points, replaced=True)
            self._open(t, name)
        return True

    def on_remaining(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        t, left = r.time_ns, float(r.value)
        self.m.remaining = (left, t)
        job = self.m.open
        if job is not None and job.ideal_s is None and left > 0:
            job.ideal_s = (t - job.start_ns) / NS + left
        return True

    def on_event(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        if r.value == "start":
            self._start(r.time_ns, points)
        return True

    def on_outcome(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._end(str(r.value), r.time_ns, points)
        return True

    def spent(self, kwh: float, since: int | None, t: int, span: int) -> None:
        """The open job's share of energy a meter counted over [since, t)."""
        job = self.m.open
        if job is not None and t > job.start_ns:
            share = kwh * share_after(job.start_ns, since, t, span)
            job.energy_kwh += share
            tariffs = self.context.tariffs
            eur = tariffs.eur(share, max(since or t, job.start_ns), t) if tariffs else None
            job.energy_eur = None if eur is None or job.energy_eur is None \
                else job.energy_eur + eur

    def _start(self, t: int, points: list[Point]) -> None:
        m = self.m
        announced = m.program if m.program_ns > m.last_end_ns else ""
        if m.open is not None:
            if not announced or announced == m.open.name:
                m.start_seen_ns = t  # the same job announced again (a gateway restarted)
                return
            self._end("unknown", t, points, replaced=True)  # its end was missed
        self._open(t, announced)

    def _open(self, t: int, name: str) -> None:
        m = self.m
        self.material.job_started()
        estimate = m.remaining[0] if m.remaining and m.remaining[1] == t else None
        good, scrap, produced = self.parts.at_start()
        material = self.material.m
        m.open = OpenJob(t, name, material.consumed_g, good, scrap,
                         estimate or self.context.ideal_cycle_s(m.program), produced=produced,
                         material_eur=material.cost_eur, unpriced_g=material.unpriced_g)
        if self.air is not None:
            self.air.job_started(self.context.machine.id, t)

    def _end(self, outcome: str, t: int, points: list[Point], replaced: bool = False) -> None:
        """Write the job; ``replaced``: its end was not seen, another job started."""
        m = self.m
        job, m.open = m.open, None
        m.last_end_ns = max(m.last_end_ns, t)
        if job is None:
            return  # an end without its start (the edge started mid-job): no honest record
        counted = self.parts.m.has_counters
        good, scrap = self.parts.of_job(job) if counted else self._by_outcome(job, outcome, t,
                                                                               points)
        material = self.material.m.consumed_g - job.material_g
        parts = good + scrap
        if counted:  # the machine counts its parts: scrap is what its counter says
            scrap_g = material * scrap / parts if parts else (
                material if outcome in FAILED else 0.0)
        else:  # a failed or aborted print is scrap as a whole
            scrap_g = material if outcome in FAILED else 0.0
        if not counted and outcome in FAILED and self.material.m.filament_mm:
            for window in self.windows.at(t):
                window.scrap_g += scrap_g
        name = job.name or ("" if replaced or m.program_ns < job.start_ns else m.program)
        air = self.air.job_ended(self.context.machine.id, job.start_ns, t) if self.air else {}
        ended = EndedJob(name, job.start_ns, t, outcome, good, scrap, material, scrap_g,
                         job.energy_kwh if self.energy.counters or self.energy.integrators
                         else None, job.recycled_g, job.lot, progress_pct=job.progress_pct,
                         eur=self._cost(job, t), air=air,
                         material=self.material.name() if air else "")
        m.ended = [*m.ended, ended][-RECENT:]
        self._write(ended, points)
        self.ended(ended, points)

    def _cost(self, job: OpenJob, t: int) -> dict[str, float | None]:
        """What the job cost, by part; None where a price is missing (docs/metrics.md)."""
        material = self.material.m
        metered = self.energy.counters or self.energy.integrators
        priced = self.context.tariffs is not None and metered
        return {"energy": job.energy_eur if priced else None,
                "material": None if material.unpriced_g > job.unpriced_g
                else material.cost_eur - job.material_eur,
                **self.context.hours_eur((t - job.start_ns) / NS)}

    def _by_outcome(self, job: OpenJob, outcome: str, t: int, points: list[Point],
                    ) -> tuple[float, float]:
        """A machine without part counters made ``parts_per_job`` good or scrap parts,
        as its outcome says, and used its stock then."""
        per_job = self.context.machine.parts_per_job
        good = per_job if outcome == "good" else 0.0
        scrap = per_job if outcome == "scrap" else 0.0
        for window in self.windows.at(t):
            window.good += good
            window.scrap += scrap
            window.ideal_s += (job.ideal_s or 0.0) * (good + scrap) / max(per_job, 1)
        stock_g = self.context.stock_g(self.m.program)
        if stock_g and not self.material.m.filament_mm:
            self.material.consume(stock_g, t, points, scrap=outcome != "good", job=job)
        return good, scrap

    def _write(self, job: EndedJob, points: list[Point]) -> None:
        """The job's point, as first written or as a verdict changed it (same series and
        time: the tag ``outcome`` is what the device said and never changes)."""
        points.append(Point("job", self.context.tags(("outcome", job.outcome)),
                            job_fields(job, self.context.co2e_kg_per_kwh), job.end_ns))

    def verdict(self, said: dict[str, float | str], points: list[Point]) -> None:
        """The parts a person counted replace what the device inferred; the job and the
        windows it was counted in are written again, whole."""
        job = self._told_of(str(said.get("job", "")))
        good, scrap = float(said.get("verdict_good", 0.0)), float(said.get("verdict_scrap", 0.0))
        scrap_g = job.material_g * scrap / (good + scrap)
        for window in self.windows.at(job.end_ns):
            window.good += good - job.good
            window.scrap += scrap - job.scrap
            window.scrap_g += scrap_g - job.scrap_g
        self.lifetime.recounted(job.good, good)
        job.good, job.scrap, job.scrap_g = good, scrap, scrap_g
        job.rework = float(said.get("verdict_rework", 0.0))
        job.reason, job.by = str(said.get("reason", "")), str(said.get("by", ""))
        job.product = str(said.get("product", job.product))
        self._write(job, points)
        self.judged(job, points)
        job.judged = True
        reason = job.reason or "unspecified"
        tags = self.context.tags
        for old in job.scrap_reasons:  # counted under another reason before: no more
            if old != reason:
                points.append(Point("scrap", tags(("reason", old)),
                                    (("scrap_parts", 0.0), ("scrap_g", 0.0)), job.end_ns))
        job.scrap_reasons = [reason]
        points.append(Point("scrap", tags(("reason", reason)),
                            (("scrap_parts", scrap), ("scrap_g", scrap_g),
                             ("job", job.name)), job.end_ns))

    def _told_of(self, name: str) -> EndedJob:
        """The last ended job of that name (the last one if no name)."""
        ended = self.m.ended
        job = next((j for j in reversed(ended) if not name or j.name == name), None)
        if job is None:
            known = ", ".join(repr(j.name) for j in ended[-5:]) or "none has ended yet"
            raise OperatorRefused(f"verdict: job: no ended job {name!r:.60} on "
                                  f"{self.context.machine.id}; the last: {known}")
        return job


def job_fields(job: EndedJob, co2e_kg_per_kwh: float) -> tuple[tuple[str, float | str], ...]:
    """What a job's point says (docs/schema.md, ``job``)."""
    fields: list[tuple[str, float | str]] = [
        ("job", job.name), ("duration_s", (job.end_ns - job.start_ns) / NS),
        ("good_parts", job.good), ("scrap_parts", job.scrap),
        ("material_g", job.material_g), ("scrap_g", job.scrap_g)]
    if job.energy_kwh is not None:  # without a meter the energy is unknown, not 0
        fields += [("energy_kwh", job.energy_kwh),
                   ("co2e_kg", job.energy_kwh * co2e_kg_per_kwh)]
    if job.lot:
        fields += [("lot", job.lot), ("recycled_g", job.recycled_g)]
    if job.by or job.reason:
        fields += [("reason", job.reason), ("verdict_by", job.by)]
    if job.product:
        fields.append(("product", job.product))
    fields += [(f"{part}_eur", eur) for part, eur in job.eur.items() if eur is not None]
    fields += sorted(job.air.items())
    if job.material:
        fields.append(("material", job.material))
    return tuple(fields)


def share_after(start_ns: int, since: int | None, t: int, span: int) -> float:
    """The share of the span [since, t) that lies after ``start_ns``."""
    return (t - max(since or t, start_ns)) / span if span else 1.0
