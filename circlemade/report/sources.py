"""Where the report's KPI points come from: a store through InfluxQL, or a recording
replayed through the edge's own pipeline (no database at all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from circlemade.report.figures import MEASUREMENTS, Row, rows_from_points
from circlemade.report.neighbours import ONLY
from edge.service.config import Config
from edge.storage.influxql import InfluxQL
from edge.storage.line_protocol import parse
from edge.storage.settings import Influx
from edge.tools.recording import Replayer, read_records


def from_recording(config: Config, recording: Path) -> dict[str, list[Row]]:
    """The points a replay of ``recording`` writes, as InfluxDB would keep them."""
    points = (parse(line) for line in Replayer(config).lines(read_records(recording)))
    return rows_from_points((p.measurement, p.tags, p.fields, p.time_ns) for p in points)


async def from_store(store: Influx, start_ns: int, end_ns: int) -> dict[str, list[Row]]:
    """The report's measurements between ``start_ns`` and ``end_ns``, from a store that
    answers InfluxQL (InfluxDB 1.x; 2.x and 3.x through their v1 compatibility API)."""
    password = store.password()
    client = InfluxQL(store.url, store.database if store.api == "v1" else store.bucket,
                      store.username, password.get_secret_value() if password else None,
                      timeout_s=60)
    rows: dict[str, list[Row]] = {}
    try:
        for measurement in MEASUREMENTS:
            # lots loaded earlier; the lifetime counters before the month
            since = 0 if measurement in ("material_lot", "lifetime") else start_ns
            only = f" AND {ONLY[measurement]}" if measurement in ONLY else ""
            series = await client.query(f'SELECT * FROM "{measurement}" WHERE '
                                        f"time >= {since} AND time < {end_ns}{only}")
            rows[measurement] = [_present(row) for s in series for row in s.rows]
    finally:
        await client.close()
    return rows


def _present(row: dict[str, Any]) -> Row:
    """InfluxQL gives every column of the measurement; a point has only some."""
    return {key: value for key, value in row.items() if value is not None and value != ""}
