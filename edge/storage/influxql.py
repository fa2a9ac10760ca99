"""A small InfluxQL client (``GET /query``) for the live view, the tests and dashboard checks.

InfluxQL is what the dashboards use, since it runs on InfluxDB 1.x, 2.x (DBRP mapping)
and 3.x alike. Series are returned as plain dataclasses with rows as dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from contract.errors import PeerError
from contract.eventlog import describe


class QueryError(PeerError, RuntimeError):
    pass


@dataclass
class Series:
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


class InfluxQL:
    def __init__(self, url: str, database: str, username: str | None = None,
                 password: str | None = None, timeout_s: float = 10.0) -> None:
        self._url = url.rstrip("/") + "/query"
        self._database = database
        self._auth = aiohttp.BasicAuth(username, password or "") if username else None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def query(self, statement: str, epoch: str = "ns") -> list[Series]:
        """Rows of every series the statement returns; QueryError on any error."""
        if self._session is None:
            self._session = aiohttp.ClientSession(auth=self._auth, timeout=self._timeout)
        params = {"db": self._database, "q": statement, "epoch": epoch}
        try:
            async with self._session.get(self._url, params=params) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise QueryError(describe(exc)) from None
        if "error" in body:
            raise QueryError(body["error"])
        series: list[Series] = []
        for result in body.get("results", []):
            if "error" in result:
                raise QueryError(result["error"])
            for item in result.get("series", []):
                columns = item["columns"]
                series.append(Series(item.get("name", ""), item.get("tags") or {},
                                     [dict(zip(columns, row, strict=True))
                                      for row in item.get("values", [])]))
        return series

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
