"""The demo's live view: what the store holds right now, per machine, read back through
the store's reader (InfluxQL for InfluxDB, the export API for VictoriaMetrics) and drawn
with rich.

It reads from the database, not from the pipeline, so what it shows has made the whole
trip. Power gets a sparkline of the last two minutes: a trend reads faster than numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text

from dashboards.panels import STATE_COLOURS
from edge.storage.point_reader import PointReader

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class MachineRow:
    machine: str
    values: dict[str, float | str] = field(default_factory=dict)
    power_trend: list[float] = field(default_factory=list)


def sparkline(values: list[float]) -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    return "".join(" " if math.isnan(v) else SPARKS[int((v - low) / span * (len(SPARKS) - 1))]
                   for v in values)


NS = 1_000_000_000
_TODAY = ["energy_kwh", "material_g", "good_parts", "scrap_parts"]
TREND_S, BUCKET_S = 120, 5


async def snapshot(reader: PointReader, now_ns: int | None = None) -> list[MachineRow]:
    """Latest state, power and hourly OEE per machine, today's totals and the power of the
    last two minutes, from the points the store holds (any store that can be read back:
    edge/storage/point_reader.py)."""
    now = now_ns or time.time_ns()
    rows: dict[str, MachineRow] = {}

    def row(machine: str) -> MachineRow:
        return rows.setdefault(machine, MachineRow(machine))

    for point in await reader.rows("machine_state", now - 3600 * NS, now + NS):
        row(point["machine"]).values["state"] = point["state"]
    buckets: dict[str, dict[int, list[float]]] = {}
    for point in await reader.rows("energy", now - TREND_S * NS, now + NS):
        if "power_w" in point:
            row(point["machine"]).values["power_w"] = point["power_w"]
            bucket = (point["time"] - now) // (BUCKET_S * NS)
            buckets.setdefault(point["machine"], {}).setdefault(bucket, []).append(
                point["power_w"])
    for machine, by_bucket in buckets.items():
        row(machine).power_trend = [sum(v) / len(v) for _, v in sorted(by_bucket.items())]
    for point in await reader.rows("oee", now - 2 * 3600 * NS, now + NS):
        if point.get("window") == "hour" and "oee" in point:
            row(point["machine"]).values["oee"] = point["oee"]
    for point in await reader.rows("circularity", now - 86400 * NS, now + NS):
        if point.get("window") == "hour":
            values = row(point["machine"]).values
            for name in (n for n in _TODAY if n in point):
                before = values.get(name)
                values[name] = point[name] + (before if isinstance(before, float) else 0.0)
    return sorted(rows.values(), key=lambda r: r.machine)


def table(rows: list[MachineRow], title: str, caption: str = "") -> Table:
    view = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for name, justify in (("machine", "left"), ("state", "left"), ("power W", "right"),
                          ("kWh today", "right"), ("material g", "right"),
                          ("good/scrap", "right"), ("OEE hour", "right"),
                          ("power, last 2 min", "left")):
        view.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        v = r.values
        state = str(v.get("state", "-"))
        view.add_row(
            r.machine, Text(state, style=STATE_COLOURS.get(state, "")),
            _num(v, "power_w", 0), _num(v, "energy_kwh", 3), _num(v, "material_g", 0),
            f"{_num(v, 'good_parts', 0)}/{_num(v, 'scrap_parts', 0)}",
            _num(v, "oee", 0, percent=True), sparkline(r.power_trend[-24:]))
    return view


def _num(values: dict[str, float | str], key: str, digits: int, percent: bool = False) -> str:
    value = values.get(key)
    if not isinstance(value, int | float):
        return "-"
    return f"{value * 100:.{digits}f} %" if percent else f"{value:,.{digits}f}"
