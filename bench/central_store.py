"""What one workshop costs the cluster's central store: a simulated month of the
20-machine workshop of bench/dashboards_scale.py, through the real pipeline; the
measurements a member forwards (docs/cluster.md's ``[[sinks]]`` example) written to
VictoriaMetrics and to InfluxDB 1.x side by side, and the edge's own health (every 10 s,
a line per source) for a day of it. Per workshop and month: points, numeric samples,
series, bytes on disk once the stores have merged, and the mean write rate.

    .venv/bin/python -m bench.central_store [--days 30] [--step-s 30]
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from bench.dashboards_scale import END, month_arguments, workshop_month
from bench.harness import servers_running
from edge.service.config import Config
from edge.storage.health import Health
from edge.storage.influx_write import Preparing
from edge.storage.line_protocol import parse
from edge.storage.stores import make_writer
from edge.tools.recording import Replayer

FORWARDED = ("job", "oee", "circularity", "downtime", "scrap", "material_lot",
             "energy_hourly", "alert")
"""What docs/cluster.md's example member forwards, edge_health aside."""
BATCH = 5000
MONTH_S = 30 * 86400


def forwarded(config: Config, records: Iterator[tuple[int, dict[str, Any]]],
              ) -> list[str]:
    prefixes = tuple(f"{m}," for m in FORWARDED)
    return [line for line in Replayer(config).lines(records) if line.startswith(prefixes)]


def health_lines(config: Config, seconds: int) -> list[str]:
    """The edge's own counters as a live edge writes them: every 10 s, a line per
    source (each machine's source, the broker, the two stores)."""
    health = Health(config.site.id)
    sources = [f"{m.id}/{m.sources[0].profile}" for m in config.machines]
    lines: list[str] = []
    for tick in range(0, seconds, 10):
        for source in sources:
            health.count(source, "messages_in", 3)
        health.set("sink", "buffer_depth", tick % 7)
        health.set("sink", "write_latency_ms", 3.5)
        health.count("sink-central", "points_written", 1)
        health.set("mqtt", "connected", 1)
        lines += health.to_lines((END - seconds + tick) * 10**9)
    return lines


async def write(store: dict[str, Any], config: Config, lines: list[str]) -> float:
    settings = config.influx.model_copy(update=store)
    writer = make_writer(settings)
    if isinstance(writer, Preparing):
        await writer.prepare()
    started = time.monotonic()
    for at in range(0, len(lines), BATCH):
        await writer.write(lines[at:at + BATCH])
    await writer.close()
    return time.monotonic() - started


def samples(lines: Iterable[str]) -> int:
    return sum(sum(1 for v in parse(line).fields.values() if not isinstance(v, str))
               for line in lines)


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def settle_victoria(url: str, folder: Path) -> tuple[int, int]:
    """Flush and merge until the size on disk holds still; (series, bytes on disk)."""
    urllib.request.urlopen(f"{url}/internal/force_flush", timeout=120)
    sizes: list[int] = []
    while len(sizes) < 3 or len(set(sizes[-3:])) > 1:
        urllib.request.urlopen(f"{url}/internal/force_merge", timeout=120)
        time.sleep(5)
        sizes.append(disk_bytes(folder))
    with urllib.request.urlopen(f"{url}/api/v1/series/count", timeout=120) as answer:
        series = int(orjson.loads(answer.read())["data"][0])
    return series, disk_bytes(folder)


def run(days: int, step_s: int) -> dict[str, Any]:
    with servers_running() as servers:
        stores = {"victoriametrics": {"api": "victoriametrics", "url": servers.victoria.url},
                  "influxdb": {"api": "v1", "url": servers.influx.url, "database": "central"}}
        folder = servers.root / "victoria" / "storage"
        _, empty = settle_victoria(servers.victoria.url, folder)
        influx_empty = disk_bytes(servers.root / "influx")
        config, records = workshop_month(stores["influxdb"], days, step_s, "central store")
        kpis = forwarded(config, records)
        health = health_lines(config, 86400)
        result: dict[str, Any] = {"days": days, "machines": len(config.machines),
                                  "kpi_points": len(kpis), "kpi_samples": samples(kpis),
                                  "health_points_per_day": len(health),
                                  "health_samples_per_day": samples(health)}
        for name, store in stores.items():
            result[f"{name}_write_s"] = asyncio.run(write(store, config, kpis))
        series, with_kpis = settle_victoria(servers.victoria.url, folder)
        vm_bytes = with_kpis - empty
        influx_bytes = disk_bytes(servers.root / "influx") - influx_empty
        result.update({"victoriametrics_series": series, "victoriametrics_bytes": vm_bytes,
                       "influxdb_bytes": influx_bytes})
        asyncio.run(write(stores["victoriametrics"], config, health))
        result["victoriametrics_health_bytes_per_day"] = settle_victoria(
            servers.victoria.url, folder)[1] - with_kpis
    month = MONTH_S / (days * 86400)
    result["per_workshop_month"] = {
        "kpi_points": round(result["kpi_points"] * month),
        "kpi_samples": round(result["kpi_samples"] * month),
        "kpi_points_per_s": result["kpi_points"] / (days * 86400),
        "health_samples": result["health_samples_per_day"] * 30,
        "victoriametrics_health_bytes": result["victoriametrics_health_bytes_per_day"] * 30,
        "victoriametrics_bytes": round(vm_bytes * month),
        "victoriametrics_bytes_per_sample": vm_bytes / result["kpi_samples"],
        "influxdb_bytes": round(influx_bytes * month)}
    return result


def main() -> None:
    args = month_arguments(__doc__ or "")
    if shutil.which("victoria-metrics") is None:
        raise SystemExit("central store: victoria-metrics is not installed (scripts/setup)")
    print(json.dumps(run(args.days, args.step_s), indent=1))


if __name__ == "__main__":
    main()
