"""Dashboards at scale: every panel's queries over 24 h, 7 days and 30 days of a
20-machine workshop in InfluxDB 1.x.

The month is made by the simulated fleet (printers, plugs, CNC mills: the devices of
the tests) and goes through the real pipeline (``circlemade replay``'s Replayer and the
sink) into InfluxDB. Each query is run as Grafana would run it for that range: the
time filter ending at the month's end, ``$__interval`` as Grafana picks it for about
1,000 points across a panel. The time of each query is the median of three.

    .venv/bin/python -m bench.dashboards_scale [--days 30] [--step-s 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.harness import servers_running
from dashboards.workshop import DASHBOARDS, specs
from edge.service.config import Config, parse_config
from edge.storage.influxql import InfluxQL
from edge.tools.recording import Replayer, replay_to_influx
from simulators.fleet import Fleet, Scenario
from simulators.recorded_shift import fleet_recording

END = int(datetime(2026, 11, 30, 16, 0, tzinfo=UTC).timestamp())
RANGES = {"24 h": (86400, "1m"), "7 days": (7 * 86400, "10m"), "30 days": (30 * 86400, "1h")}
"""Range -> (seconds, the $__interval Grafana picks for about 1,000 points)."""
DATABASE = "month"


def workshop_month(influx: dict[str, Any], days: int, step_s: int, label: str,
                   ) -> tuple[Config, Iterator[tuple[int, dict[str, Any]]]]:
    """The 20-machine workshop's config (points to ``influx``) and its ``days`` of
    recording, made a day at a time as they are read."""
    fleet = Fleet(Scenario.from_counts(printers=10, meters=8, cnc=2, seed=5,
                                       operator_site="month"))
    config = parse_config({"site": {"id": "month"}, "influx": influx,
                           "machines": fleet.machines_config()})

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        for day in range(days):  # a day at a time, streamed through the pipeline
            lines = fleet_recording(fleet, END - (days - day) * 86400, 24, step_s)
            yield from ((n, orjson.loads(line)) for n, line in enumerate(lines))
            print(f"{label}: day {day + 1} of {days} replayed", flush=True)

    return config, records()


def fill(url: str, days: int, step_s: int) -> tuple[int, float]:
    """Replay the month into InfluxDB; (points written, seconds)."""
    config, records = workshop_month({"api": "v1", "url": url, "database": DATABASE}, days,
                                     step_s, "dashboards at scale")
    started = time.monotonic()
    written = asyncio.run(replay_to_influx(config, Replayer(config).lines(records)))
    return written, time.monotonic() - started


def substitute(query: str, seconds: int, interval: str) -> str:
    start = (END - seconds) * 1000
    return (query.replace("$timeFilter", f"time >= {start}ms AND time <= {END * 1000}ms")
            .replace("$__interval", interval).replace("$site", "month")
            .replace("$kind", ".*").replace("$machine", ".*"))


async def time_queries(url: str) -> list[dict[str, Any]]:
    client = InfluxQL(url, DATABASE, timeout_s=120)
    timings = []
    try:
        for key in DASHBOARDS:
            for spec in specs(key):
                for name, (seconds, interval) in RANGES.items():
                    took = []
                    for _ in range(3):
                        started = time.perf_counter()
                        for query in spec.queries:
                            await client.query(substitute(query, seconds, interval))
                        took.append(time.perf_counter() - started)
                    timings.append({"dashboard": key, "panel": spec.title, "range": name,
                                    "seconds": statistics.median(took)})
    finally:
        await client.close()
    return timings


def run(days: int, step_s: int) -> dict[str, Any]:
    with servers_running() as servers:
        points, fill_s = fill(servers.influx.url, days, step_s)
        timings = asyncio.run(time_queries(servers.influx.url))
    slowest = {name: max(t["seconds"] for t in timings if t["range"] == name)
               for name in RANGES}
    return {"days": days, "step_s": step_s, "points": points, "fill_s": fill_s,
            "panels": len(timings) // len(RANGES), "slowest_s": slowest,
            "over_1s": [t for t in timings if t["seconds"] >= 1.0], "timings": timings}


def month_arguments(doc: str) -> argparse.Namespace:
    """``--days`` and ``--step-s`` of a benchmark on the simulated month."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--step-s", type=int, default=30,
                        help="seconds between two messages of a device")
    return parser.parse_args()


def main() -> None:
    args = month_arguments(__doc__ or "")
    result = run(args.days, args.step_s)
    result.pop("timings")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
