"""A simulated person at the workshop: what the demo's operator says over MQTT, in the
operator contract (gateways/operator_input.py). She loads a spool of recycled PETG on
the last printer (in the demo, the OctoPrint one, which reports the filament it uses),
inspects every printer's finished jobs and finds one in three warped, says why a
printer stands idle when it has waited a while, and cleans a printer's nozzle once it
has printed its ``NOZZLE_JOBS`` jobs (the component the fleet's config gives it), so
that the demo shows a component falling due and serviced."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson

from simulators.mqtt_publisher import Message
from simulators.printer import SimulatedPrinter

LOOKS_BEFORE_REASON = 2
"""How many times she sees a printer idle before she says why (once a stop)."""
NOZZLE_JOBS = 1
"""The simulated printers' nozzle: serviced after every job (due, then cleaned)."""


@dataclass
class SimulatedOperator:
    site: str
    printers: dict[str, SimulatedPrinter]
    seed: int = 1
    prefix: str = "circlemade"
    _jobs_seen: dict[str, int] = field(default_factory=dict)
    _idle_looks: dict[str, int] = field(default_factory=dict)
    _loaded: bool = False
    _serviced_at: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def messages(self, now_s: float) -> list[Message]:
        said: list[Message] = []
        if not self._loaded and self.printers:
            self._loaded = True
            last = list(self.printers)[-1]
            said.append(self._say(last, "material", {
                "action": "load", "lot": "RPETG-2026-118", "material": "PETG",
                "recycled_pct": 100, "supplier": "Filamentz Brussels", "mass_g": 1000,
                "by": "amina"}))
        for machine, printer in self.printers.items():
            done, seen = printer.jobs_done, self._jobs_seen.get(machine, printer.jobs_done)
            self._jobs_seen[machine] = done
            if done > seen and printer.last_outcome == "good" and self._rng.random() < 1 / 3:
                said.append(self._say(machine, "verdict", {
                    "good": 0, "scrap": 1, "reason": "warping", "by": "amina"}))
            if done - self._serviced_at.get(machine, 0) >= NOZZLE_JOBS and printer.state in (
                    "idle", "cooling"):
                self._serviced_at[machine] = done
                said.append(self._say(machine, "maintenance", {
                    "component": "nozzle", "action": "serviced", "note": "nozzle cleaned",
                    "by": "amina"}))
            if printer.state not in ("idle", "cooling"):  # the edge sees both as idle
                self._idle_looks.pop(machine, None)
                continue
            looks = self._idle_looks[machine] = self._idle_looks.get(machine, 0) + 1
            if looks == LOOKS_BEFORE_REASON:
                said.append(self._say(machine, "downtime", {
                    "reason": "waiting_material", "by": "amina"}))
        return said

    def _say(self, machine: str, kind: str, payload: dict[str, object]) -> Message:
        return (f"{self.prefix}/{self.site}/{machine}/{kind}", orjson.dumps(payload), False)
