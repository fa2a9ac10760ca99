"""InfluxDB 2.x, 3.x, Cloud and 1.8+: ``api = "v2"``, ``POST /api/v2/write`` through
influxdb-client's async API, with a token."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from contract.eventlog import describe
from edge.storage.influx_write import WriteFailed, classify
from edge.storage.stores import Store, StoreSettings
from edge.storage.stores.influxql_points import InfluxQLPoints


class InfluxV2Writer:
    """``POST /api/v2/write`` through influxdb-client's async API (2.x, 3.x, Cloud, 1.8+)."""

    def __init__(self, config: StoreSettings) -> None:
        self._config = config
        self._client: InfluxDBClientAsync | None = None

    def _api(self) -> InfluxDBClientAsync:
        if self._client is None:
            token = self._config.token()
            self._client = InfluxDBClientAsync(
                url=self._config.url,
                token=token.get_secret_value() if token else "",
                org=self._config.org,
                timeout=int(self._config.timeout_s * 1000),
            )
        return self._client

    async def write(self, lines: list[str]) -> None:
        try:
            await self._api().write_api().write(
                bucket=self._config.bucket,
                org=self._config.org,
                record=lines,
                write_precision=WritePrecision.NS,  # type: ignore[arg-type]
            )
        except ApiException as exc:
            headers: Mapping[str, str] = exc.headers or {}
            raise classify(exc.status or 0, str(exc.body or exc.reason),
                            headers.get("Retry-After")) from None
        except TimeoutError:
            raise WriteFailed(f"no answer from {self._config.url} within "
                              f"{self._config.timeout_s:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise WriteFailed(describe(exc)) from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
            self._client = None


STORE = Store("v2", InfluxV2Writer, "InfluxDB 2.x, 3.x and 1.8+ ``/api/v2/write``",
              reader=InfluxQLPoints)
