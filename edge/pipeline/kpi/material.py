"""Material: what each machine consumed, of which lot and how much of it recycled; the
lots people load and unload; filament length to grams.

grams = length_mm x pi x (diameter_mm / 2)^2 / 1000 x density_g_per_cm3
(mm^3 / 1000 = cm^3). Densities are typical datasheet values for unfilled filaments.
"""

from __future__ import annotations

import math

from contract.materials import DENSITY_G_PER_CM3
from contract.reading import Reading
from edge.pipeline.kpi.context import NS, MachineContext, OperatorRefused, Point
from edge.pipeline.kpi.lifetime import Lifetime
from edge.pipeline.kpi.memory import JobsMemory, Lot, MaterialMemory, OpenJob
from edge.pipeline.kpi.windows import Windows

DEFAULT_MATERIAL = "PLA"
DEFAULT_DIAMETER_MM = 1.75


def filament_grams(length_mm: float, material: str = DEFAULT_MATERIAL,
                   diameter_mm: float = DEFAULT_DIAMETER_MM,
                   density_g_per_cm3: float | None = None) -> float:
    density = density_g_per_cm3 or DENSITY_G_PER_CM3[material.upper()]
    return length_mm * math.pi * (diameter_mm / 2) ** 2 / 1000 * density


class Material:
    def __init__(self, context: MachineContext, memory: MaterialMemory, jobs: JobsMemory,
                 windows: Windows, lifetime: Lifetime) -> None:
        self.context, self.m, self.jobs, self.windows = context, memory, jobs, windows
        self.lifetime = lifetime

    def on_filament(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m, used = self.m, float(r.value)
        delta = used - m.filament_mm if used >= m.filament_mm else used
        m.filament_mm = used
        self.lifetime.fed(delta)
        self.consume(self._filament_grams(delta), r.time_ns, points)
        return True

    def job_started(self) -> None:
        self.m.filament_mm = 0.0  # devices count a job's filament from its start

    def consume(self, grams: float, t: int, points: list[Point], scrap: bool = False,
                job: OpenJob | None = None) -> None:
        """``job``: the job it went to, if it is no longer open (stock used at its end)."""
        if grams <= 0:
            return
        m = self.m
        m.consumed_g += grams
        lot = m.lot
        price = self.context.material_price(self.name(), lot.price_per_kg if lot else None)
        if price is None:
            m.unpriced_g += grams
        else:
            m.cost_eur += grams / 1000 * price
        recycled = grams * lot.recycled_pct / 100 if lot is not None else 0.0
        if lot is not None:
            lot.consumed_g += grams
            job = job or self.jobs.open
            if job is not None:
                job.recycled_g += recycled
                job.lot = lot.lot
        for window in self.windows.at(t):
            window.material_g += grams
            window.recycled_g += recycled
            if scrap:
                window.scrap_g += grams
        material = self.name()
        if not m.consumed_by and m.consumed_g > grams:  # a memory from before lots: all of
            m.consumed_by[self.context.machine.material] = m.consumed_g - grams  # its own
        total = m.consumed_by[material] = m.consumed_by.get(material, 0.0) + grams
        points.append(Point("material", self.context.tags(("material", material)),
                            (("consumed_g", total),), t))

    def name(self) -> str:
        """The material in the machine: the lot's, or the machine's own."""
        return self.m.lot.material if self.m.lot is not None else self.context.machine.material

    def _filament_grams(self, length_mm: float) -> float:
        machine, lot = self.context.machine, self.m.lot
        if lot is None:
            return filament_grams(length_mm, machine.material, machine.filament_diameter_mm,
                                  machine.density_g_cm3)
        return filament_grams(length_mm, lot.material, machine.filament_diameter_mm,
                              lot.density_g_cm3)

    def load(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        m = self.m
        if m.lot is not None:
            self.unload({}, t, points)  # loading another lot ends this one
        density = said.get("density_g_cm3")
        mass = said.get("mass_g")
        material = str(said["lot_material"])
        m.lot = Lot(str(said["lot"]), material.upper() if density is None else material,
                    float(said.get("recycled_pct", 0.0)), t, str(said.get("supplier", "")),
                    float(mass) if mass is not None else None,
                    float(density) if density is not None else None,
                    price_per_kg=float(said["price_per_kg"]) if "price_per_kg" in said else None)
        self._write_lot(m.lot, None, points)

    def unload(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        m, machine = self.m, self.context.machine.id
        lot = m.lot
        if lot is None:
            raise OperatorRefused(f"material: unload: no lot is loaded on {machine}")
        if "lot" in said and said["lot"] != lot.lot:
            raise OperatorRefused(f"material: lot: {said['lot']!r:.40} is not the lot "
                                  f"loaded on {machine} ({lot.lot!r})")
        m.lot = None
        remaining = said.get("remaining_g")
        self._write_lot(lot, float(remaining) if remaining is not None else None, points,
                        unloaded_ns=t)

    def write_ongoing(self, points: list[Point]) -> None:
        if self.m.lot is not None:
            self._write_lot(self.m.lot, None, points)

    def _write_lot(self, lot: Lot, remaining_g: float | None, points: list[Point],
                   unloaded_ns: int | None = None) -> None:
        fields: list[tuple[str, float | str]] = [
            ("lot", lot.lot), ("material", lot.material), ("recycled_pct", lot.recycled_pct),
            ("consumed_g", lot.consumed_g),
            ("recycled_g", lot.consumed_g * lot.recycled_pct / 100)]
        if lot.supplier:
            fields.append(("supplier", lot.supplier))
        if lot.mass_g is not None:
            fields.append(("mass_g", lot.mass_g))
        if lot.price_per_kg is not None:
            fields.append(("price_per_kg", lot.price_per_kg))
        if remaining_g is not None:
            fields.append(("remaining_g", remaining_g))
        if unloaded_ns is not None:
            fields.append(("loaded_s", (unloaded_ns - lot.loaded_ns) / NS))
        points.append(Point("material_lot", self.context.tags(), tuple(fields), lot.loaded_ns))
