"""The filaments whose density the edge knows: what turns a printer's millimetres of
filament into grams, and what a machine's ``material`` may name without a density of its
own. Data, shared by the config (which checks names) and the KPI stage (which weighs)."""

from __future__ import annotations

DENSITY_G_PER_CM3 = {"PLA": 1.24, "PETG": 1.27, "ABS": 1.04, "ASA": 1.07, "TPU": 1.21}
"""Typical densities of the common filaments (manufacturers' data sheets)."""
