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
    canonical unit. :mod:`edge.pipeline.normalise` converts it.
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


class TimeBounds(NamedTuple):
    """When a reading may be: not before ``earliest_ns`` (a device clock that was never
    set), not more than ``max_ahead_ns`` past the edge's clock (a clock gone wrong).
    Checked once, where readings are validated: a reading dated in 2199 would otherwise
    make the KPI stage open a window for every hour until then."""

    earliest_ns: int
    max_ahead_ns: int

    def problem(self, time_ns: int, now_ns: int) -> str | None:
        """Why ``time_ns`` is refused against the clock ``now_ns``, or None."""
        if time_ns < self.earliest_ns:
            return f"time {_shown(time_ns)} is before {_shown(self.earliest_ns)}"
        if time_ns - now_ns > self.max_ahead_ns:
            return (f"time {_shown(time_ns)} is {(time_ns - now_ns) / 1e9:.0f} s ahead of the "
                    f"edge's clock (at most {self.max_ahead_ns / 1e9:.0f} s allowed)")
        return None


def _shown(time_ns: int) -> str:
    try:
        return iso_time(time_ns)
    except (OverflowError, ValueError, OSError):
        return f"{time_ns} ns"


DEFAULT_TIME_BOUNDS = TimeBounds(946_684_800 * 10**9, 300 * 10**9)
"""2000-01-01, and five minutes ahead."""
