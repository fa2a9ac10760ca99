"""The demo's live view: what InfluxDB holds right now, per machine, read back by InfluxQL.

It reads from the database, not from the pipeline, so what it shows has made the whole
trip. Power gets a sparkline of the last two minutes: a trend reads faster than numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from edge.influxql import InfluxQL

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


_LATEST = [
    ("machine_state", "state"), ("telemetry", "progress_pct"), ("telemetry", "nozzle_temp_c"),
    ("telemetry", "bed_temp_c"), ("energy", "power_w"), ("energy", "energy_kwh"),
]


async def snapshot(client: InfluxQL, window: str = "15m") -> tuple[list[MachineRow], int]:
    """Latest values per machine and the number of points stored in ``window``."""
    rows: dict[str, MachineRow] = {}

    def row(machine: str) -> MachineRow:
        return rows.setdefault(machine, MachineRow(machine))

    # One selector per query: InfluxDB 1.x returns time 0 for several selectors at once.
    for measurement, name in _LATEST:
        query = (f'SELECT last("{name}") FROM "{measurement}" '
                 f"WHERE time > now() - {window} GROUP BY machine")
        for series in await client.query(query):
            if series.rows:
                row(series.tags["machine"]).values[name] = series.rows[-1]["last"]
    trend_query = ('SELECT mean("power_w") FROM "energy" WHERE time > now() - 2m '
                   "GROUP BY time(5s), machine fill(none)")
    for series in await client.query(trend_query):
        row(series.tags["machine"]).power_trend = [float(r["mean"]) for r in series.rows]
    for series in await client.query(
            f'SELECT count("duration_s") FROM "job" WHERE time > now() - {window} '
            "GROUP BY machine, outcome"):
        if series.rows:
            values = row(series.tags["machine"]).values
            key = "jobs_good" if series.tags.get("outcome") == "good" else "jobs_bad"
            values[key] = float(values.get(key, 0)) + float(series.rows[-1]["count"])
    for series in await client.query(
            'SELECT last("oee") FROM "oee" WHERE "window" = \'hour\' AND time > now() - 2h '
            "GROUP BY machine"):
        if series.rows:
            row(series.tags["machine"]).values["oee"] = series.rows[-1]["last"]
    total = 0
    for measurement in ("machine_state", "telemetry", "energy"):
        count_query = f'SELECT count(*) FROM "{measurement}" WHERE time > now() - {window}'
        for series in await client.query(count_query):
            total += max((int(v) for r in series.rows for k, v in r.items()
                          if k.startswith("count_") and v is not None), default=0)
    return sorted(rows.values(), key=lambda r: r.machine), total


def render(rows: list[MachineRow], points: int, title: str) -> str:
    header = (f"{'machine':<12} {'state':<11} {'progress':>8} {'nozzle °C':>9} {'bed °C':>7} "
              f"{'power W':>8} {'energy kWh':>10} {'jobs ok/bad':>11} {'OEE h':>6}  "
              "power, last 2 min")
    lines = [f"{title}   {datetime.now():%H:%M:%S}", "", header, "-" * len(header)]
    for r in rows:
        v = r.values
        lines.append(
            f"{r.machine:<12} {v.get('state', '-')!s:<11} {_num(v, 'progress_pct', 8, 1)} "
            f"{_num(v, 'nozzle_temp_c', 9, 1)} {_num(v, 'bed_temp_c', 7, 1)} "
            f"{_num(v, 'power_w', 8, 1)} {_num(v, 'energy_kwh', 10, 4)} "
            f"{_jobs(v):>11} {_num(v, 'oee', 6, 2)}  {sparkline(r.power_trend[-24:])}"
        )
    lines += ["", f"points stored in the last 15 min (state, telemetry, energy): {points}"]
    return "\n".join(lines)


def _num(values: dict[str, float | str], key: str, width: int, digits: int) -> str:
    value = values.get(key)
    if not isinstance(value, int | float):
        return "-".rjust(width)
    return f"{value:>{width}.{digits}f}"


def _jobs(values: dict[str, float | str]) -> str:
    good, bad = values.get("jobs_good", 0), values.get("jobs_bad", 0)
    return f"{int(float(good))}/{int(float(bad))}"
