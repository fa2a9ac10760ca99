"""Talking to the real servers a test started: publish to Mosquitto, read InfluxDB."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import orjson

from edge.influxql import InfluxQL


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
