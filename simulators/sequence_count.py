"""Counting sequence-numbered readings back out of InfluxDB: the fault tests and the soak
benchmark publish ``{"seq": N, ...}`` mapped to the ``layer`` signal and ask which
numbers arrived."""

from __future__ import annotations

from edge.storage.influxql import InfluxQL, QueryError


async def stored_sequence(url: str, database: str) -> set[int]:
    """The sequence numbers InfluxDB holds (none while the database does not exist)."""
    client = InfluxQL(url, database)
    try:
        series = await client.query('SELECT "layer" FROM "telemetry"')
    except QueryError:
        return set()
    finally:
        await client.close()
    return {int(row["layer"]) for s in series for row in s.rows}
