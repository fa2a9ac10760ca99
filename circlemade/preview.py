"""Pictures of the dashboards where Grafana cannot run: every panel's real query against a
real InfluxDB 1.x, filled by replaying a simulated Monday morning, drawn with matplotlib
on the panels' own grid positions.

    .venv/bin/python -m circlemade.preview docs/    (scripts/preview-dashboards)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from circlemade.demo import PERMIT
from dashboards.panels import STATE_COLOURS
from dashboards.workshop import DASHBOARDS, as_json
from edge.service.config import parse_config
from edge.storage.influxql import InfluxQL
from edge.tools.recording import Replayer, read_records, replay_to_influx
from simulators import local_servers
from simulators.fleet import Fleet, Scenario
from simulators.recorded_shift import fleet_recording

START = int(datetime(2026, 11, 23, 7, 30, tzinfo=UTC).timestamp())  # Monday 08:30 Brussels
HOURS = 3


DAY_S = START - 9 * 3600
"""The dashboards show the day so far ..."""
SINCE = {"site-energy": int(datetime(2026, 10, 31, 23, 0, tzinfo=UTC).timestamp())}
"""... but the site's energy the month so far (its monthly points are dated at
November's start, Brussels time)."""


def substitute(query: str, since_s: int = DAY_S) -> str:
    start, end = since_s * 1000, (START + HOURS * 3600) * 1000
    return (query.replace("$timeFilter", f"time >= {start}ms AND time <= {end}ms")
            .replace("$__interval", "10m").replace("$site", "preview")
            .replace("$kind", ".*").replace("$machine", ".*"))


async def fill(url: str, folder: Path) -> None:
    fleet = Fleet(Scenario.from_counts(printers=3, meters=3, cnc=1, seed=11, grid=True,
                                       sensors=True,
                                       operator_site="preview"))
    config = parse_config({
        "site": {"id": "preview", "grid_meter": fleet.grid_meter},
        "influx": {"api": "v1", "url": url, "database": "preview"},
        "grid": {"capacity_eur_per_kw_year": 53.3, "minimum_peak_kw": 2.5},
        "neighbours": {"periods": PERMIT}, "alerts": [{"rule": "noise"}],
        "tariffs": [{"name": "peak", "eur_per_kwh": 0.34, "start": "07:00", "end": "22:00"},
                    {"name": "off-peak", "eur_per_kwh": 0.24}],
        "machines": fleet.machines_config()})
    path = folder / "morning.jsonl"
    path.write_bytes(b"\n".join(fleet_recording(fleet, START, HOURS)) + b"\n")
    await replay_to_influx(config, Replayer(config).lines(read_records(path)))


async def panel_data(client: InfluxQL, panel: dict[str, Any], since_s: int) -> list[Any]:
    series = []
    for target in panel["targets"]:
        series += await client.query(substitute(target["query"], since_s), epoch="ms")
    return series


def draw(ax: Any, panel: dict[str, Any], series: list[Any]) -> None:
    ax.set_title(panel["title"], fontsize=9, loc="left")
    ax.tick_params(labelsize=6)
    kind = panel["type"]
    labelled = [(", ".join(s.tags.values()) or s.name, s.rows) for s in series]
    if kind == "timeseries":
        for label, rows in labelled:
            for column in [c for c in (rows[0] if rows else {}) if c != "time"]:
                points = [(r["time"], r[column]) for r in rows if r[column] is not None]
                if points:
                    xs = [datetime.fromtimestamp(t / 1000, UTC) for t, _ in points]
                    name = label if column in ("mean", "max", "sum", "count") else (
                        f"{label} {column}")
                    ax.plot(xs, [v for _, v in points], linewidth=1, label=name[:28])
        if ax.lines:
            ax.legend(fontsize=5, loc="upper left")
        from matplotlib.dates import DateFormatter

        ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))
    elif kind == "barchart":  # a Pareto: each series' total, largest on top
        totals = sorted(((sum(v for r in rows for k, v in r.items()
                               if k != "time" and isinstance(v, int | float)), label)
                         for label, rows in labelled))
        ax.barh([label for _, label in totals], [total for total, _ in totals],
                color="#2e8b57")
    elif kind == "state-timeline":
        for lane, (_, rows) in enumerate(labelled):
            for current, following in zip(rows, [*rows[1:], None], strict=False):
                end = following["time"] if following else current["time"] + 60_000
                state = next((v for k, v in current.items() if k != "time"), None)  # last()
                ax.barh(lane, end - current["time"], left=current["time"],
                        color=STATE_COLOURS.get(str(state), "white"))
        ax.set_yticks(range(len(labelled)), [label for label, _ in labelled])
        ax.set_xticks([])
    else:  # stat, table: the values as text
        texts = []
        for label, rows in labelled:
            for row in rows[-1:] if kind == "stat" else rows[-6:]:
                values = [f"{v:.3g}" if isinstance(v, float) else str(v)
                          for k, v in row.items() if k != "time" and v is not None]
                texts.append(f"{label}: {'  '.join(values)}")
        ax.text(0.02, 0.95, "\n".join(texts[:12]) or "no data", va="top", fontsize=6,
                family="monospace", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])


async def render(out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    with tempfile.TemporaryDirectory(prefix="circlemade-preview-") as tmp, \
            local_servers.influxdb1(Path(tmp) / "influx") as influx:
        await fill(influx.url, Path(tmp))
        client = InfluxQL(influx.url, "preview")
        try:
            for key in DASHBOARDS:
                board = as_json(key)
                height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
                figure = plt.figure(figsize=(14, height * 0.42))
                grid = figure.add_gridspec(height, 24, hspace=3, wspace=2)
                for panel in board["panels"]:
                    g = panel["gridPos"]
                    ax = figure.add_subplot(grid[g["y"]:g["y"] + g["h"], g["x"]:g["x"] + g["w"]])
                    draw(ax, panel, await panel_data(client, panel, SINCE.get(key, DAY_S)))
                figure.suptitle(board["title"], fontsize=12, x=0.01, ha="left")
                path = out / f"dashboard-{key}.png"
                figure.savefig(path, dpi=80, bbox_inches="tight")
                plt.close(figure)
                written.append(path)
        finally:
            await client.close()
    return written


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    for written_path in asyncio.run(render(folder)):
        print(written_path)
