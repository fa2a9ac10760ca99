"""Where the report's KPI points come from: a store through InfluxQL, or a recording
replayed through the edge's own pipeline (no database at all)."""

from __future__ import annotations

from pathlib import Path

from circlemade.report.figures import MEASUREMENTS, Row, rows_from_points
from circlemade.report.neighbours import ONLY
from edge.service.config import Config
from edge.storage.line_protocol import parse
from edge.storage.settings import Influx
from edge.storage.stores import STORES
from edge.tools.recording import Replayer, read_records


def from_recording(config: Config, recording: Path) -> dict[str, list[Row]]:
    """The points a replay of ``recording`` writes, as InfluxDB would keep them."""
    points = (parse(line) for line in Replayer(config).lines(read_records(recording)))
    return rows_from_points((p.measurement, p.tags, p.fields, p.time_ns) for p in points)


async def from_store(store: Influx, start_ns: int, end_ns: int) -> dict[str, list[Row]]:
    """The report's measurements between ``start_ns`` and ``end_ns``, from a store its
    kind can read back (edge/storage/point_reader.py)."""
    make = STORES[store.api].reader
    assert make is not None  # the command checked it
    reader = make(store)
    rows: dict[str, list[Row]] = {}
    try:
        for measurement in MEASUREMENTS:
            # lots loaded earlier; the lifetime counters before the month
            since = 0 if measurement in ("material_lot", "lifetime") else start_ns
            rows[measurement] = await reader.rows(measurement, since, end_ns,
                                                  ONLY.get(measurement))
    finally:
        await reader.close()
    return rows
