"""Writing line protocol to InfluxDB: the v2 API through influxdb-client, the v1 API over HTTP.

Both writers raise :class:`WriteRejected` when InfluxDB refuses the data itself (HTTP 400:
a field type conflict, a malformed line), which retrying cannot fix, and
:class:`WriteFailed` for everything worth retrying (network, timeouts, 5xx, 429, auth).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Protocol

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from contract.errors import PeerError
from contract.eventlog import describe
from edge.config import Influx


class WriteRejected(PeerError):
    """InfluxDB refused the data (4xx other than auth and rate limits); do not retry as is."""


class WriteFailed(PeerError):
    """The write did not happen and may succeed later (after ``retry_after_s``, when
    InfluxDB said so in a ``Retry-After`` header)."""

    def __init__(self, message: str, retry_after_s: float | None = None,
                 refused: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.refused = refused
        """Credentials or rights refused (401, 403): retried, but waiting will not heal
        it, so ``circlemade status`` says so at once."""


def retry_after(header: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date)."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class LineWriter(Protocol):
    async def write(self, lines: list[str]) -> None: ...

    async def close(self) -> None: ...


_RETRYABLE_4XX = {401, 403, 404, 408, 429}
_REFUSED = {401, 403}


def _classify(status: int, message: str, retry_after_header: str | None = None) -> Exception:
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return WriteRejected(f"HTTP {status}: {message.strip()[:300]}")
    return WriteFailed(f"HTTP {status}: {message.strip()[:300]}", retry_after(retry_after_header),
                       refused=status in _REFUSED)


class InfluxV1Writer:
    """``POST /write?db=&rp=&precision=ns`` of InfluxDB 1.x (and 1.x compatibility APIs)."""

    def __init__(self, config: Influx) -> None:
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

    async def ensure_database(self) -> None:
        """``CREATE DATABASE`` (a no-op when it exists), so a fresh InfluxDB 1.x just works."""
        query = f'CREATE DATABASE "{self._config.database}"'
        try:
            async with self._client().post("query", params={"q": query}) as response:
                if response.status >= 300:
                    raise _classify(response.status, await response.text())
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
                        await self.ensure_database()
                    raise _classify(response.status, text, response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(self._failure(exc)) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class InfluxV2Writer:
    """``POST /api/v2/write`` through influxdb-client's async API (2.x, 3.x, Cloud, 1.8+)."""

    def __init__(self, config: Influx) -> None:
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
            raise _classify(exc.status or 0, str(exc.body or exc.reason),
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


def make_writer(config: Influx) -> InfluxV1Writer | InfluxV2Writer:
    return InfluxV1Writer(config) if config.api == "v1" else InfluxV2Writer(config)
