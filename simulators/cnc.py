"""A simulated CNC router or mill: setup, cutting cycles and the odd alarm.

The physics only; :mod:`simulators.sparkplug_node` publishes it as a Sparkplug B device.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class SimulatedCnc:
    machine: str
    seed: int = 3
    alarm_rate: float = 0.03
    execution: str = "READY"  # READY, ACTIVE, STOPPED, ALARM (MTConnect Execution)
    spindle_rpm: float = 0.0
    feed_override_pct: float = 100.0
    parts: int = 0
    _left_s: float = 10.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def load_w(self) -> float:
        return {"READY": 180.0, "ACTIVE": 2350.0, "STOPPED": 120.0, "ALARM": 140.0}[self.execution]

    def step(self, dt_s: float) -> None:
        self._left_s -= dt_s
        if self.execution == "ACTIVE":
            self.spindle_rpm = 18000 + self._rng.gauss(0, 40)
        else:
            self.spindle_rpm = 0.0
        if self._left_s > 0:
            return
        rng = self._rng
        if self.execution == "ACTIVE":
            self.parts += 1
            if rng.random() < self.alarm_rate:
                self.execution, self._left_s = "ALARM", rng.uniform(60, 300)
            else:
                self.execution, self._left_s = "READY", rng.uniform(20, 90)
        else:
            self.execution, self._left_s = "ACTIVE", rng.uniform(120, 600)
            self.feed_override_pct = rng.choice([80.0, 100.0, 100.0, 120.0])
