"""The demo's live view: what InfluxDB holds right now, per machine, read back by InfluxQL
and drawn with rich.

It reads from the database, not from the pipeline, so what it shows has made the whole
trip. Power gets a sparkline of the last two minutes: a trend reads faster than numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text

from dashboards.panels import STATE_COLOURS
from edge.storage.influxql import InfluxQL

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


# (query, value column, key) -- one selector per query: InfluxDB 1.x returns time 0 for
# several selectors in one statement.
_QUERIES = [
    ('SELECT last("state") FROM "machine_state" WHERE time > now() - 1h GROUP BY machine',
     "last", "state"),
    ('SELECT last("power_w") FROM "energy" WHERE time > now() - 1h GROUP BY machine',
     "last", "power_w"),
    ("SELECT last(\"oee\") FROM \"oee\" WHERE \"window\" = 'hour' AND time > now() - 2h "
     "GROUP BY machine", "last", "oee"),
]
_TODAY = ["energy_kwh", "material_g", "good_parts", "scrap_parts"]


async def snapshot(client: InfluxQL) -> list[MachineRow]:
    """Latest state, power and hourly OEE per machine, and today's totals."""
    rows: dict[str, MachineRow] = {}

    def row(machine: str) -> MachineRow:
        return rows.setdefault(machine, MachineRow(machine))

    for query, column, key in _QUERIES:
        for series in await client.query(query):
            if series.rows and series.rows[-1][column] is not None:
                row(series.tags["machine"]).values[key] = series.rows[-1][column]
    for name in _TODAY:
        query = (f"SELECT sum(\"{name}\") FROM \"circularity\" WHERE \"window\" = 'hour' "
                 "AND time > now() - 24h GROUP BY machine")
        for series in await client.query(query):
            if series.rows:
                row(series.tags["machine"]).values[name] = series.rows[-1]["sum"]
    trend_query = ('SELECT mean("power_w") FROM "energy" WHERE time > now() - 2m '
                   "GROUP BY time(5s), machine fill(none)")
    for series in await client.query(trend_query):
        row(series.tags["machine"]).power_trend = [float(r["mean"]) for r in series.rows]
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
