"""The canonical reading: the one type every gateway and profile produces.

A NamedTuple rather than a pydantic model because readings are created once per value
in the hot path, where a tuple costs a fraction of a validated model.
"""

from __future__ import annotations

from typing import NamedTuple


class Reading(NamedTuple):
    """One value of one signal of one machine at one instant.

    ``unit`` is the unit the device reported the value in (a pint unit string such as
    ``"degF"`` or ``"Wh"``), or ``None`` when the value is already in the signal's
    canonical unit. :mod:`edge.normalise` converts it.
    """

    site: str
    machine: str
    signal: str
    value: float | str
    unit: str | None
    time_ns: int
    meter: str | None = None
