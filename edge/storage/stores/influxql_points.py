"""Reading the points back from a store that answers InfluxQL (InfluxDB 1.x; 2.x and 3.x
through their v1 compatibility API): the reader of the ``v1`` and ``v2`` stores."""

from __future__ import annotations

from typing import Any

from edge.storage.influxql import InfluxQL
from edge.storage.stores import StoreSettings


class InfluxQLPoints:
    """The points of a store that answers InfluxQL (InfluxDB 1.x; 2.x and 3.x through
    their v1 compatibility API), as a :class:`~edge.storage.point_reader.PointReader`."""

    def __init__(self, store: StoreSettings) -> None:
        password = store.password()
        self.client = InfluxQL(store.url, store.database if store.api == "v1" else store.bucket,
                               store.username, password.get_secret_value() if password else None,
                               timeout_s=60)

    async def rows(self, measurement: str, start_ns: int, end_ns: int,
                   with_tag: str | None = None) -> list[dict[str, Any]]:
        only = f""" AND "{with_tag}" != ''""" if with_tag else ""
        series = await self.client.query(f'SELECT * FROM "{measurement}" WHERE '
                                         f"time >= {start_ns} AND time < {end_ns}{only}")
        return [_present(row) for s in series for row in s.rows]

    async def close(self) -> None:
        await self.client.close()


def _present(row: dict[str, Any]) -> dict[str, Any]:
    """InfluxQL gives every column of the measurement; a point has only some."""
    return {key: value for key, value in row.items() if value is not None and value != ""}
