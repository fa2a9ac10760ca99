"""``[grid]``: what the grid connection costs beyond the kWh (docs/metrics.md, site
energy)."""

from __future__ import annotations

from pydantic import Field

from contract.model import StrictModel


class GridSettings(StrictModel):
    """``[grid]``: what the grid connection costs beyond the kWh, and when a quarter is
    taken as counted."""

    capacity_eur_per_kw_year: float | None = Field(default=None, ge=0)
    """The capacity term: EUR per kW per year of the rolling average of the monthly
    peaks (Flanders' capacity tariff); unset: no capacity cost."""
    minimum_peak_kw: float = Field(default=0.0, ge=0)
    """A month's peak is billed at least this (Flanders: 2.5 kW)."""
    injection_eur_per_kwh: float | None = Field(default=None, ge=0)
    """What a kWh sent back to the grid earns; unset: injection has no price."""
    settle_s: float = Field(default=300.0, ge=0, le=3600)
    """How long after a quarter ends its figures are written: the machines' meters that
    report every few minutes have counted it by then."""
