"""A simulated energy meter (smart plug) in front of a machine, publishing JSON.

Example payload on ``workshop/<id>/energy``::

    {"ts": 1763812800.0, "power": 125.3, "energy_wh": 1834.2,
     "voltage": 230.8, "current": 0.54}

The energy counter is in Wh, as many plugs report it; the config converts it to kWh.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SimulatedMeter:
    meter: str
    load_w: Callable[[], float]
    seed: int = 2
    energy_wh: float = 0.0
    power_w: float = 0.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def step(self, dt_s: float) -> None:
        self.power_w = max(0.0, self.load_w() * self._rng.uniform(0.97, 1.03))
        self.energy_wh += self.power_w * dt_s / 3600

    def status(self, time_s: float) -> dict[str, object]:
        voltage = 230 + self._rng.gauss(0, 1.2)
        return {
            "ts": round(time_s, 3),
            "power": round(self.power_w, 1),
            "energy_wh": round(self.energy_wh, 3),
            "voltage": round(voltage, 1),
            "current": round(self.power_w / voltage, 3),
        }
