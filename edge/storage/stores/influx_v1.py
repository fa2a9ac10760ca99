"""InfluxDB 1.x (and servers speaking its write API, VictoriaMetrics among them):
``api = "v1"``, ``POST /write?db=&rp=&precision=ns`` with basic auth."""

from __future__ import annotations

import aiohttp

from contract.eventlog import describe
from edge.storage.influx_write import WriteFailed, classify
from edge.storage.stores import Store, StoreSettings
from edge.storage.stores.influxql_points import InfluxQLPoints


class InfluxV1Writer:
    """``POST /write?db=&rp=&precision=ns`` of InfluxDB 1.x (and 1.x compatibility APIs)."""

    def __init__(self, config: StoreSettings) -> None:
        self._config = config
        self._params = {"db": config.database, "precision": "ns"}
        if config.retention_policy:
            self._params["rp"] = config.retention_policy
        password = config.password()
        self._auth = (
            aiohttp.BasicAuth(config.username, password.get_secret_value() if password else "")
            if config.username
            else None
        )
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                base_url=self._config.url.rstrip("/") + "/",
                auth=self._auth,
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s),
            )
        return self._session

    async def prepare(self) -> None:
        """``CREATE DATABASE`` (a no-op when it exists), so a fresh InfluxDB 1.x just works."""
        query = f'CREATE DATABASE "{self._config.database}"'
        try:
            async with self._client().post("query", params={"q": query}) as response:
                if response.status >= 300:
                    raise classify(response.status, await response.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(self._failure(exc)) from None

    def _failure(self, error: Exception) -> str:
        if isinstance(error, TimeoutError):
            return f"no answer from {self._config.url} within {self._config.timeout_s:g} s"
        return describe(error)

    async def write(self, lines: list[str]) -> None:
        body = "\n".join(lines).encode()
        try:
            async with self._client().post("write", params=self._params, data=body) as response:
                if response.status != 204:
                    text = await response.text()
                    if response.status == 404 and "database not found" in text:
                        await self.prepare()
                    raise classify(response.status, text, response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(self._failure(exc)) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


STORE = Store("v1", InfluxV1Writer, "InfluxDB 1.x ``/write`` (and its compatible servers)",
              reader=InfluxQLPoints)
