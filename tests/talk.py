"""Talking to the real servers a test started: publish to Mosquitto, read InfluxDB, run
the edge service in the test's event loop."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from edge.config import Config
from edge.influxql import InfluxQL
from edge.service import EdgeService


def publish(port: int, topic: str, payload: dict[str, Any]) -> None:
    """One QoS 1 message, as a device (or a person's tool) would send it."""
    subprocess.run(["mosquitto_pub", "-p", str(port), "-t", topic, "-q", "1",
                    "-m", orjson.dumps(payload).decode()], check=True, timeout=30)


def stored(url: str, database: str, statement: str) -> list[dict[str, Any]]:
    """The rows InfluxDB returns for an InfluxQL statement, all series together."""
    async def rows() -> list[dict[str, Any]]:
        client = InfluxQL(url, database)
        try:
            return [row for series in await client.query(statement) for row in series.rows]
        finally:
            await client.close()
    return asyncio.run(rows())


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
