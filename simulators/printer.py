"""A simulated FDM printer: jobs with heat-up, printing (progress, layers, filament) and
cool-down, ending good, failed or cancelled at configurable rates.

The physics only; :mod:`simulators.printer_payloads` publishes it as a Bambu Lab printer
or as OctoPrint. Seeded, so a run can be repeated exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

NOZZLE_C, BED_C, ROOM_C = 215.0, 60.0, 23.0


@dataclass
class PrinterBehaviour:
    fail_rate: float = 0.08
    """Share of jobs that fail (spaghetti, adhesion): scrap."""
    cancel_rate: float = 0.05
    """Share of jobs an operator cancels: aborted."""
    job_s: tuple[float, float] = (300.0, 1800.0)
    idle_s: tuple[float, float] = (20.0, 120.0)


@dataclass
class JobEvent:
    kind: str  # "start" or "end"
    job: str
    outcome: str = ""  # for "end": good, failed, cancelled


@dataclass
class SimulatedPrinter:
    machine: str
    seed: int = 1
    behaviour: PrinterBehaviour = field(default_factory=PrinterBehaviour)
    state: str = "idle"  # idle, heating, printing, cooling
    nozzle_c: float = ROOM_C
    bed_c: float = ROOM_C
    progress: float = 0.0
    job: str = ""
    jobs_done: int = 0
    total_layers: int = 0
    job_filament_mm: float = 0.0
    last_outcome: str = ""
    events: list[JobEvent] = field(default_factory=list)
    _job_s: float = 0.0
    _stop_at: float = 101.0
    _planned_outcome: str = "good"
    _idle_left_s: float = 5.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def heating(self) -> bool:
        return self.state in ("heating", "printing")

    @property
    def layer(self) -> int:
        return int(self.progress / 100 * self.total_layers)

    @property
    def filament_used_mm(self) -> float:
        return round(self.progress / 100 * self.job_filament_mm, 1)

    @property
    def remaining_s(self) -> float:
        if self.state == "heating":
            return self._job_s  # the slicer's estimate, before the print starts
        if self.state != "printing":
            return 0.0
        return max(0.0, (100 - self.progress) / 100 * self._job_s)

    @property
    def load_w(self) -> float:
        """Electrical load, for a simulated meter in front of the printer."""
        return {"idle": 6.0, "heating": 310.0, "printing": 125.0, "cooling": 9.0}[self.state]

    def step(self, dt_s: float) -> None:
        ticks = max(1, round(dt_s))
        for _ in range(ticks):
            self._tick(dt_s / ticks)

    def _tick(self, dt: float) -> None:
        nozzle_goal = NOZZLE_C if self.heating else ROOM_C
        bed_goal = BED_C if self.heating else ROOM_C
        self.nozzle_c += (nozzle_goal - self.nozzle_c) * min(1.0, dt / 12)
        self.bed_c += (bed_goal - self.bed_c) * min(1.0, dt / 30)
        self.nozzle_c += self._rng.gauss(0, 0.1)
        if self.state == "idle":
            self._idle_left_s -= dt
            if self._idle_left_s <= 0:
                self._start_job()
        elif self.state == "heating":
            if self.nozzle_c > NOZZLE_C - 5 and self.bed_c > BED_C - 5:
                self.state = "printing"
        elif self.state == "printing":
            self.progress = min(100.0, self.progress + 100 * dt / self._job_s)
            if self.progress >= self._stop_at:
                self._end_job(self._planned_outcome)
            elif self.progress >= 100:
                self._end_job("good")
        elif self.state == "cooling" and self.nozzle_c < 60:
            self.state = "idle"
            self._idle_left_s = self._rng.uniform(*self.behaviour.idle_s)

    def _start_job(self) -> None:
        rng, behaviour = self._rng, self.behaviour
        self.state, self.progress = "heating", 0.0
        self.job = f"{self.machine}-part-{self.jobs_done + 1:04d}.gcode"
        self._job_s = rng.uniform(*behaviour.job_s)
        self.total_layers = rng.randint(40, 400)
        self.job_filament_mm = round(rng.uniform(1500, 20000), 1)
        draw = rng.random()
        if draw < behaviour.fail_rate:
            self._planned_outcome, self._stop_at = "failed", rng.uniform(2, 90)
        elif draw < behaviour.fail_rate + behaviour.cancel_rate:
            self._planned_outcome, self._stop_at = "cancelled", rng.uniform(1, 60)
        else:
            self._planned_outcome, self._stop_at = "good", 101.0
        self.events.append(JobEvent("start", self.job))

    def _end_job(self, outcome: str) -> None:
        self.state, self.jobs_done, self.last_outcome = "cooling", self.jobs_done + 1, outcome
        self.events.append(JobEvent("end", self.job, outcome))

    def take_events(self) -> list[JobEvent]:
        events, self.events = self.events, []
        return events
