"""A simulated CNC router or mill: setup, cutting cycles, idle, alarms and scrap parts.

The physics only; :mod:`simulators.sparkplug_node` publishes it as a Sparkplug B device
and :mod:`simulators.opcua_machine_tool` serves it as an OPC UA machine tool. Execution
follows MTConnect's names (READY, ACTIVE, STOPPED, ALARM); ``program_state`` umati's
(Running, Ended, Aborted).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

PROGRAMS = ["bracket_6061.nc", "panel_birch_12mm.nc", "housing_pom.nc", "gear_blank_c45.nc"]


@dataclass
class SimulatedCnc:
    machine: str
    seed: int = 3
    alarm_rate: float = 0.03
    scrap_rate: float = 0.05
    cycle_s: tuple[float, float] = (120.0, 600.0)
    execution: str = "READY"  # READY, ACTIVE, STOPPED, ALARM
    operation_mode: str = "Setup"  # Setup, Automatic
    program: str = ""
    program_state: str = "Ended"  # Running, Ended, Aborted
    spindle_rpm: float = 0.0
    spindle_override_pct: float = 100.0
    feed_override_pct: float = 100.0
    parts: int = 0
    parts_good: int = 0
    parts_scrap: int = 0
    alarm_text: str = ""
    powered_s: float = 3_600_000.0
    """Its power-on time: a thousand hours when the simulation starts."""
    _left_s: float = 10.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def load_w(self) -> float:
        return {"READY": 180.0, "ACTIVE": 2350.0, "STOPPED": 120.0, "ALARM": 140.0}[self.execution]

    def step(self, dt_s: float) -> None:
        self._left_s -= dt_s
        self.powered_s += dt_s
        self.spindle_rpm = 18000 + self._rng.gauss(0, 40) if self.execution == "ACTIVE" else 0.0
        while self._left_s <= 0:
            self._next()

    def _next(self) -> None:
        rng = self._rng
        if self.execution == "ACTIVE":
            if rng.random() < self.alarm_rate:
                self.execution, self.program_state = "ALARM", "Aborted"
                self.alarm_text = rng.choice(["Spindle overload", "Tool breakage detected",
                                              "Axis X following error", "Door opened"])
                self._left_s = rng.uniform(60, 300)
                return
            self.parts += 1
            if rng.random() < self.scrap_rate:
                self.parts_scrap += 1
            else:
                self.parts_good += 1
            self.execution, self.program_state = "READY", "Ended"
            self._left_s = rng.uniform(20, 90)
        elif self.execution == "READY" and self.operation_mode == "Setup":
            self.operation_mode, self._left_s = "Automatic", rng.uniform(5, 30)
        else:
            self.alarm_text, self.operation_mode = "", "Automatic"
            self.execution, self.program_state = "ACTIVE", "Running"
            self.program = rng.choice(PROGRAMS)
            self.feed_override_pct = rng.choice([80.0, 100.0, 100.0, 120.0])
            self._left_s = rng.uniform(*self.cycle_s)
