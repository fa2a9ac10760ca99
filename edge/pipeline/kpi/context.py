"""What every calculator of one machine reads and none of them changes: the machine's
config, the site, the calendar; the point they write and what they refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from contract.errors import BadInput
from edge.pipeline.kpi.calendar import ShiftCalendar
from edge.pipeline.kpi.periods import PeriodClock
from edge.pipeline.kpi.tariffs import TariffClock
from edge.pipeline.settings import Machine

NS = 1_000_000_000
Tags = tuple[tuple[str, str], ...]
Figures = tuple[tuple[str, float], ...]


class OperatorRefused(BadInput):
    """Operator input that cannot be applied (no such job, no stop, no lot loaded)."""


class Point(NamedTuple):
    measurement: str
    tags: Tags
    fields: tuple[tuple[str, float | str], ...]
    time_ns: int


@dataclass(frozen=True)
class MachineContext:
    machine: Machine
    site: str
    calendar: ShiftCalendar
    co2e_kg_per_kwh: float
    planned_stops: frozenset[str]
    failure_stops: frozenset[str] = frozenset()
    tariffs: TariffClock | None = None
    """The energy's price by time band (None: no ``[[tariffs]]``, energy cost unknown)."""
    labour_per_h: float | None = None
    material_per_kg: dict[str, float] = field(default_factory=dict)
    periods: PeriodClock = field(default_factory=lambda: PeriodClock([], "UTC"))
    """The permit's noise periods (``[neighbours]``), for a sound sensor (none: no period
    windows)."""

    def tags(self, *extra: tuple[str, str]) -> Tags:
        return (("site", self.site), ("machine", self.machine.id),
                ("kind", self.machine.kind), *extra)

    def ideal_cycle_s(self, program: str) -> float | None:
        return self.machine.program_cycle_s.get(program, self.machine.ideal_cycle_s)

    def stock_g(self, program: str) -> float:
        return self.machine.stock_g.get(program, self.machine.stock_g.get("*", 0.0))

    def material_price(self, material: str, lot_price: float | None) -> float | None:
        """EUR per kg: the lot's own price, else the site's for its material."""
        return lot_price if lot_price is not None else self.material_per_kg.get(
            material.upper())

    def hours_eur(self, seconds: float) -> dict[str, float | None]:
        """The machine's and (if priced) labour's cost of a job's time."""
        rate, labour = self.machine.rate_per_h, self.labour_per_h
        eur: dict[str, float | None] = {
            "machine": None if rate is None else rate * seconds / 3600}
        if labour is not None:
            eur["labour"] = labour * seconds / 3600
        return eur
