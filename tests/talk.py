"""Talking to the real servers a test started: publish to Mosquitto, read InfluxDB, run
the edge service in the test's event loop or as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

from edge.service.config import Config, parse_config
from edge.service.wiring import EdgeService
from edge.storage.influxql import InfluxQL, Series
from simulators.local_servers import LocalServer
from tests.conftest import REPO


def publish(port: int, topic: str, payload: dict[str, Any]) -> None:
    """One QoS 1 message, as a device (or a person's tool) would send it."""
    subprocess.run(["mosquitto_pub", "-p", str(port), "-t", topic, "-q", "1",
                    "-m", orjson.dumps(payload).decode()], check=True, timeout=30)


def victoria_export(server: LocalServer, metric: str, site: str = "") -> list[dict[str, Any]]:
    """Every series of ``metric`` in VictoriaMetrics (of ``site``: the server is shared),
    with all its raw samples."""
    with urllib.request.urlopen(server.url + "/internal/force_flush", timeout=5):
        pass
    only = f',site="{site}"' if site else ""
    query = urllib.parse.urlencode({"match[]": f'{{__name__="{metric}"{only}}}'})
    with urllib.request.urlopen(f"{server.url}/api/v1/export?{query}", timeout=5) as response:
        return [orjson.loads(line) for line in response.read().splitlines() if line.strip()]


def stored(url: str, database: str, statement: str) -> list[dict[str, Any]]:
    """The rows InfluxDB returns for an InfluxQL statement, all series together."""
    async def rows() -> list[dict[str, Any]]:
        client = InfluxQL(url, database)
        try:
            return [row for series in await client.query(statement) for row in series.rows]
        finally:
            await client.close()
    return asyncio.run(rows())


async def queried(url: str, database: str, statement: str) -> list[Series]:
    """The series InfluxDB returns for an InfluxQL statement, times in ms."""
    client = InfluxQL(url, database)
    try:
        return await client.query(statement, epoch="ms")
    finally:
        await client.close()


async def rows(url: str, database: str, statement: str) -> list[dict[str, Any]]:
    """The same in an event loop; none while the database does not exist yet."""
    client = InfluxQL(url, database)
    try:
        return [row for series in await client.query(statement) for row in series.rows]
    except Exception:
        return []
    finally:
        await client.close()


@asynccontextmanager
async def ticking(step: Callable[[], None], every_s: float = 0.1) -> AsyncIterator[None]:
    """``step`` every ``every_s`` in the background: a simulated device's clock."""
    async def tick() -> None:
        while True:
            await asyncio.sleep(every_s)
            step()

    clock = asyncio.create_task(tick())
    try:
        yield
    finally:
        clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock


def polled_config(site: str, database: str, influx: LocalServer,
                  machine: dict[str, Any]) -> Config:
    """One machine behind an HTTP device, polled and reconnected within a second."""
    source = {**machine["sources"][0], "poll_interval_s": 0.2, "timeout_s": 2,
              "reconnect_min_s": 0.2, "reconnect_max_s": 1}
    return parse_config({
        "site": {"id": site}, "brokers": [], "health_interval_s": 0.5,
        "influx": {"api": "v1", "url": influx.url, "database": database,
                   "flush_interval_s": 0.2},
        "machines": [{**machine, "sources": [source]}]})


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[EdgeService]:
    """The edge service in this event loop, stopped (and waited for) at the end."""
    service = EdgeService(config)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def start_edge(config: Path, log: Path, prefix: list[str] | None = None,
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``circlemade run`` as its own process (``prefix``: e.g. strace), logging to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([*(prefix or []), sys.executable, "-m", "circlemade.cli", "run",
                                 "-c", str(config)], stderr=out, cwd=REPO,
                                env=env or dict(os.environ))


def stop_edge(process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout_s)
