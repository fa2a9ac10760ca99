"""The canonical reading: the one type every gateway and profile produces.

A NamedTuple rather than a pydantic model because readings are created once per value
in the hot path, where a tuple costs a fraction of a validated model.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def iso_time(time_ns: int) -> str:
    """``2026-11-22T21:40:31.915123Z``: microseconds, UTC, for files people read."""
    moment = datetime.fromtimestamp(time_ns // 1000 / 1e6, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
