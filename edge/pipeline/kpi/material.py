"""Material: filament length to grams, and the defaults per material.

grams = length_mm x pi x (diameter_mm / 2)^2 / 1000 x density_g_per_cm3
(mm^3 / 1000 = cm^3). Densities are typical datasheet values for unfilled filaments.
"""

from __future__ import annotations

import math

from contract.materials import DENSITY_G_PER_CM3

DEFAULT_MATERIAL = "PLA"
DEFAULT_DIAMETER_MM = 1.75


def filament_grams(length_mm: float, material: str = DEFAULT_MATERIAL,
                   diameter_mm: float = DEFAULT_DIAMETER_MM,
                   density_g_per_cm3: float | None = None) -> float:
    density = density_g_per_cm3 or DENSITY_G_PER_CM3[material.upper()]
    return length_mm * math.pi * (diameter_mm / 2) ** 2 / 1000 * density
