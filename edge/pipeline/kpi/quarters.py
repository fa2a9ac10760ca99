"""Clock quarters and months in the site's time zone, as the capacity tariff counts
them: fixed quarters :00-:15, :15-:30, ... of the local clock (not a sliding window),
and the local calendar month.

A quarter is 900 s of real time whatever the clock does: in the autumn the local hour
02:00-03:00 comes twice, and so do its four quarters (eight distinct instants in UTC);
in the spring 02:00-03:00 never comes. Quarters are found from the zone's UTC offset at
the instant, so a zone whose offset is not a whole number of quarters would still be
cut on its own clock.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

NS = 1_000_000_000
QUARTER_NS = 900 * NS
QUARTERS_PER_H = 4


def quarter_start(t_ns: int, zone: ZoneInfo) -> int:
    """The start of the clock quarter that holds ``t_ns``."""
    return clock_start(t_ns, zone, QUARTER_NS)


def clock_start(t_ns: int, zone: ZoneInfo, length_ns: int) -> int:
    """The start of the local clock's quarter, hour (``length_ns``) that holds ``t_ns``."""
    offset = datetime.fromtimestamp(t_ns // NS, zone).utcoffset()
    offset_ns = int(offset.total_seconds()) * NS if offset is not None else 0
    return t_ns - (t_ns + offset_ns) % length_ns


def day_start(t_ns: int, zone: ZoneInfo) -> int:
    """The local midnight before ``t_ns``."""
    local = datetime.fromtimestamp(t_ns // NS, zone)
    return int(datetime.combine(local.date(), datetime.min.time(), zone).timestamp()) * NS


def month_of(t_ns: int, zone: ZoneInfo) -> str:
    """The local month that holds ``t_ns``, e.g. ``2026-03``."""
    return datetime.fromtimestamp(t_ns / NS, zone).strftime("%Y-%m")


def month_start(month: str, zone: ZoneInfo) -> int:
    """The instant a local month (``2026-03``) begins."""
    year, number = (int(part) for part in month.split("-"))
    return int(datetime(year, number, 1, tzinfo=zone).timestamp()) * NS


def local_iso(t_ns: int, zone: ZoneInfo) -> str:
    """E.g. ``2026-10-25T02:45:00+01:00``: the offset tells the two 02:45s apart."""
    return datetime.fromtimestamp(t_ns // NS, zone).isoformat()


def clock(t_ns: int, zone: ZoneInfo) -> str:
    """E.g. ``14:15``, for messages."""
    return datetime.fromtimestamp(t_ns // NS, zone).strftime("%H:%M")
