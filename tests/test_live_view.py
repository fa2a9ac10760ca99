"""The demo's live view reads through the store's reader: the same points written to
InfluxDB 1.x and to VictoriaMetrics give the same rows (state, power and its trend,
the hour's OEE, today's totals)."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any

import pytest

from circlemade.live_view import snapshot
from edge.service.config import parse_config
from edge.storage.influx_write import Preparing
from edge.storage.stores import STORES, make_writer
from simulators.local_servers import LocalServer

NS = 1_000_000_000
NOW = (time.time_ns() // NS) * NS
TAGS = "kind=printer,machine=p1,site=live"


def lines() -> list[str]:
    hour = NOW - NOW % (3600 * NS)
    return [f'machine_state,{TAGS} state="running",state_code=0.0 {NOW - 600 * NS}',
            *[f"energy,{TAGS},meter=plug power_w={100.0 + s} {NOW - s * NS}"
              for s in range(0, 60, 10)],
            f"oee,{TAGS},window=hour oee=0.5 {hour - 3600 * NS}",
            f"oee,{TAGS},window=hour oee=0.75 {hour}",
            f"circularity,{TAGS},window=hour energy_kwh=0.25,good_parts=3.0 {hour}",
            f"circularity,{TAGS},window=hour energy_kwh=0.5,good_parts=2.0 {hour - 3600 * NS}"]


async def rows_from(store: dict[str, Any]) -> list[Any]:
    settings = parse_config({"site": {"id": "live"}, "brokers": [], "influx": store,
                             "machines": [{"id": "p1", "kind": "printer", "sources": [
                                 {"profile": "prusalink", "endpoint": "http://127.0.0.1:9",
                                  "api_key_env": "K"}]}]}, secrets=False).influx
    writer = make_writer(settings)
    if isinstance(writer, Preparing):
        await writer.prepare()
    await writer.write(lines())
    await writer.close()
    if settings.api == "victoriametrics":
        await asyncio.to_thread(urllib.request.urlopen,
                                f"{settings.url}/internal/force_flush", timeout=30)
    make = STORES[settings.api].reader
    assert make is not None
    reader = make(settings)
    try:
        return [row for row in await snapshot(reader, NOW) if row.machine == "p1"]
    finally:
        await reader.close()


@pytest.mark.servers
def test_the_live_view_reads_influxdb_and_victoriametrics_alike(
        influxdb1: LocalServer, victoria: LocalServer) -> None:
    influx = asyncio.run(rows_from({"api": "v1", "url": influxdb1.url, "database": "live"}))
    theirs = asyncio.run(rows_from({"api": "victoriametrics", "url": victoria.url}))
    (row,) = influx
    assert row.values == {"state": "running", "power_w": 100.0, "oee": 0.75,
                          "energy_kwh": 0.75, "good_parts": 5.0}
    assert len(row.power_trend) >= 2
    assert theirs == influx
