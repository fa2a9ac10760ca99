"""OEE and circularity figures per machine and window (hour, shift, day).

availability = run time / planned busy time      (run time counted within planned time;
               planned busy time = the calendar's planned time less planned stops)
performance  = ideal cycle time x parts / run time
quality      = good parts / all parts            (1 when no part was made)
oee          = availability x performance x quality

Each factor is clamped to [0, 1]: a wrong ideal cycle time must not show as 130 %.
OEE is not written for windows without planned time (a Sunday, a holiday), nor for a
machine whose state is unknown; circularity is written for every window that used energy
or material. Circularity figures
of the same window: kWh per good part, grams of material per good part, scrap rate by
count (scrap / all parts) and by mass (scrap grams / material grams).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class WindowTotals:
    kind: str
    start_ns: int
    end_ns: int
    run_ns: int = 0
    planned_down_ns: int = 0
    """Planned time the machine stood for a planned reason (a break, a changeover)."""
    ideal_s: float = 0.0
    good: float = 0.0
    scrap: float = 0.0
    energy_kwh: float = 0.0
    standby_kwh: float = 0.0
    material_g: float = 0.0
    scrap_g: float = 0.0
    recycled_g: float = 0.0
    stated: bool = False
    """The machine's state was known for some of it: OEE is written only then."""
    meters: dict[str, float] = field(default_factory=dict)
    """Hour windows: each meter's part of ``energy_kwh``."""
    failures: int = 0
    """Failures that began in it."""
    repairs: int = 0
    repair_ns: int = 0
    """Failures that ended in it (running again), and their time to restoration."""

    def has_content(self) -> bool:
        return bool(self.energy_kwh or self.material_g or self.good or self.scrap)

    def factors(self, planned_ns: int) -> dict[str, float]:
        """``planned_ns``: the planned busy time (ISO 22400) of the window so far."""
        run_s = self.run_ns / 1e9
        availability = _clamp(self.run_ns / planned_ns) if planned_ns else 0.0
        performance = _clamp(self.ideal_s / run_s) if run_s > 0 else 0.0
        parts = self.good + self.scrap
        quality = self.good / parts if parts else 1.0
        return {"availability": availability, "performance": performance, "quality": quality,
                "oee": availability * performance * quality, "run_s": run_s,
                "planned_s": planned_ns / 1e9, "planned_down_s": self.planned_down_ns / 1e9}

    def circularity(self) -> dict[str, float]:
        parts = self.good + self.scrap
        figures = {"good_parts": self.good, "scrap_parts": self.scrap,
                   "energy_kwh": self.energy_kwh, "standby_kwh": self.standby_kwh,
                   "standby_share": self.standby_kwh / self.energy_kwh if self.energy_kwh else 0.0,
                   "material_g": self.material_g,
                   "scrap_g": self.scrap_g,
                   "recycled_g": self.recycled_g,
                   "recycled_share": self.recycled_g / self.material_g if self.material_g else 0.0,
                   "scrap_rate_count": self.scrap / parts if parts else 0.0,
                   "scrap_rate_mass": self.scrap_g / self.material_g if self.material_g else 0.0}
        if self.good:
            figures["kwh_per_good_part"] = self.energy_kwh / self.good
            figures["g_per_good_part"] = self.material_g / self.good
        return figures


    def reliability(self) -> dict[str, float]:
        """MTBF and MTTR (ISO 22400-2): operating time per failure, restoration time
        per repair; empty for a window without failures or repairs."""
        if not (self.failures or self.repairs):
            return {}
        figures = {"failures": float(self.failures), "operating_s": self.run_ns / 1e9,
                   "repairs": float(self.repairs), "repair_s": self.repair_ns / 1e9}
        if self.failures:
            figures["mtbf_s"] = self.run_ns / 1e9 / self.failures
        if self.repairs:
            figures["mttr_s"] = self.repair_ns / 1e9 / self.repairs
        return figures


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
