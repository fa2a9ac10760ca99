"""Reading the points back from a store, whatever its query language: one interface for
what reads a store (the monthly report today), with a back end per kind of store that
can be read (edge/storage/stores/: InfluxQL for InfluxDB, the export API for
VictoriaMetrics). A point comes back as a row: its tags, its fields and ``time`` (ns), as
it was written, the newest write winning where one was written twice."""

from __future__ import annotations

from typing import Any, Protocol

Row = dict[str, Any]


class PointReader(Protocol):
    async def rows(self, measurement: str, start_ns: int, end_ns: int,
                   with_tag: str | None = None) -> list[Row]:
        """The points of ``measurement`` in [start_ns, end_ns); with ``with_tag``, only
        those that have that tag (the ``noise`` windows of a period)."""
        ...

    async def close(self) -> None: ...
