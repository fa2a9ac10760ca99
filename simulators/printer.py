"""A simulated FDM printer that publishes its status as JSON once per (simulated) second.

Example payload on ``workshop/<id>/status``::

    {"ts": 1763812800.0, "state": "printing", "job": "bracket-v3.gcode",
     "progress": 42.5, "layer": 51, "temps": {"nozzle": 214.8, "nozzle_target": 215.0,
     "bed": 60.1, "bed_target": 60.0}}

Cycle: idle -> heating -> printing -> cooling -> idle, with a seeded random job length.
Later issues give it the vendor payloads (Bambu, OctoPrint, Moonraker).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class SimulatedPrinter:
    machine: str
    seed: int = 1
    state: str = "idle"
    nozzle_c: float = 24.0
    bed_c: float = 23.0
    progress: float = 0.0
    job_s: float = 0.0
    job: str = ""
    jobs_done: int = 0
    _idle_left_s: float = 5.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def nozzle_target(self) -> float:
        return 215.0 if self.state in ("heating", "printing") else 0.0

    @property
    def bed_target(self) -> float:
        return 60.0 if self.state in ("heating", "printing") else 0.0

    @property
    def load_w(self) -> float:
        """Electrical load, for a simulated meter in front of the printer."""
        return {"idle": 6.0, "heating": 310.0, "printing": 125.0, "cooling": 9.0}[self.state]

    def step(self, dt_s: float) -> None:
        for _ in range(max(1, round(dt_s))):
            self._tick(dt_s / max(1, round(dt_s)))

    def _tick(self, dt: float) -> None:
        self.nozzle_c += (max(self.nozzle_target, 24.0) - self.nozzle_c) * min(1.0, dt / 12)
        self.bed_c += (max(self.bed_target, 23.0) - self.bed_c) * min(1.0, dt / 30)
        self.nozzle_c += self._rng.gauss(0, 0.15)
        if self.state == "idle":
            self._idle_left_s -= dt
            if self._idle_left_s <= 0:
                self.state, self.progress = "heating", 0.0
                self.job_s = self._rng.uniform(120, 600)
                self.job = f"part-{self.jobs_done + 1:04d}.gcode"
        elif self.state == "heating":
            if self.nozzle_c > 210 and self.bed_c > 55:
                self.state = "printing"
        elif self.state == "printing":
            self.progress = min(100.0, self.progress + 100 * dt / self.job_s)
            if self.progress >= 100:
                self.state, self.jobs_done = "cooling", self.jobs_done + 1
        elif self.state == "cooling" and self.nozzle_c < 60:
            self.state, self._idle_left_s = "idle", self._rng.uniform(10, 60)

    def status(self, time_s: float) -> dict[str, object]:
        return {
            "ts": round(time_s, 3),
            "state": self.state,
            "job": self.job,
            "progress": round(self.progress, 2),
            "layer": int(self.progress * 2.4),
            "temps": {"nozzle": round(self.nozzle_c, 2), "nozzle_target": self.nozzle_target,
                      "bed": round(self.bed_c, 2), "bed_target": self.bed_target},
        }
