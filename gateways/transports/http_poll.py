"""The HTTP polling transport (PrusaLink, MTConnect): one aiohttp session per source,
a round of GETs every poll interval, the answers recorded and decoded like any value.

What a round asks for is the profile's (a :class:`Poller`: PrusaLink asks for the job and
the status; an MTConnect agent for ``current``, then ``sample`` from its sequence
cursor). An answer the device refuses (401, 404, 500) or that does not come within the
timeout is counted and logged, throttled, with the URL and what to check; three failed
rounds in a row take the source offline (once per outage) and the session is made
again after a capped backoff. Nothing a device answers stops the gateway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from contract.counters import Counters
from contract.errors import PeerError
from contract.eventlog import describe, log_event
from contract.raw_message import RawMessage
from contract.reading import Reading
from gateways.decoding import DecodeError, PartialDecode
from gateways.gateway import Outbox, ValueDecoder
from gateways.transports.value_gateway import ValueGatewayBase

FAILED_ROUNDS = 3
"""Rounds in a row without an answer before the device is taken for gone."""
Fetch = Callable[[str], Awaitable[tuple[int, str]]]
"""GET a path of the device: (HTTP status, body)."""


class HttpRefused(PeerError):
    """An answer that is not the document asked for; the text says what to check."""


class Poller(Protocol):
    async def round(self, fetch: Fetch) -> list[tuple[str, Any]]:
        """One round of requests: what to record and decode, as (key, value)."""
        ...


class DocumentPoller:
    """One GET a round, of the one document a device serves (a P1 meter's measurement,
    an air monitor's current values); ``login`` says what to check when it is refused."""

    def __init__(self, path: str, key: str, login: str) -> None:
        self.path, self.key, self.login = path, key, login

    async def round(self, fetch: Fetch) -> list[tuple[str, Any]]:
        status, body = await fetch(self.path)
        if status in (401, 403):
            raise HttpRefused(f"{self.path}: HTTP {status}: {self.login}")
        if status != 200:
            raise HttpRefused(f"{self.path}: HTTP {status}: {body[:80]!r}")
        return [(self.key, body)]


class HttpSettings(Protocol):
    endpoint: str
    poll_interval_s: float
    timeout_s: float
    reconnect_min_s: float
    reconnect_max_s: float

    def session_options(self) -> dict[str, Any]:
        """Headers, middlewares (digest auth) for the session; secrets read here."""
        ...


class HttpGateway(ValueGatewayBase):
    transport = "http"

    def __init__(self, source: HttpSettings, route: str, decoder: ValueDecoder,
                 counters: Counters, poller: Poller) -> None:
        super().__init__(route, decoder, counters, source)
        self.source, self.decoder, self.poller = source, decoder, poller
        self._base = source.endpoint.rstrip("/")

    async def run(self, out: Outbox) -> None:
        while not self._stopping.is_set():
            timeout = aiohttp.ClientTimeout(total=self.source.timeout_s)
            async with aiohttp.ClientSession(timeout=timeout,
                                             **self.source.session_options()) as session:
                failed = await self._poll(session, out)
            if failed and not self._stopping.is_set():
                await self._gone(out)
                await self.back_off()
            else:
                self.reconnected()

    async def _poll(self, session: aiohttp.ClientSession, out: Outbox) -> bool:
        """Rounds until the device fails ``FAILED_ROUNDS`` in a row (True) or a stop."""
        failures = 0

        async def fetch(path: str) -> tuple[int, str]:
            url = f"{self._base}{path}"
            try:
                async with session.get(url) as response:
                    return response.status, await response.text()
            except TimeoutError:
                raise HttpRefused(f"no answer from {url} within "
                                  f"{self.source.timeout_s:g} s") from None
            except aiohttp.ClientError as exc:
                raise HttpRefused(f"{url}: {describe(exc)}") from None

        while not self._stopping.is_set():
            try:
                answers = await self.poller.round(fetch)
            except HttpRefused as exc:
                failures += 1
                self.health.count(self.route, "http_errors")
                self._throttle.event(f"refused|{str(exc)[:60]}", "http.refused",
                                     logging.WARNING, route=self.route, error=str(exc))
                if failures >= FAILED_ROUNDS:
                    self.connected.clear()
                    return True
            else:
                failures = 0
                if not self.connected.is_set():
                    self.connected.set()
                    self._outage.over()
                    log_event("http.connected", route=self.route, endpoint=self.source.endpoint)
                readings = self._decoded(answers, time.time_ns())
                if readings:
                    await out.put(readings)
            await self.pause(self.source.poll_interval_s)
        return False

    def _decoded(self, answers: list[tuple[str, Any]], now: int,
                 ) -> list[RawMessage | Reading]:
        readings: list[RawMessage | Reading] = []
        self.health.set(self.route, "last_message_s", now / 1e9)
        for key, value in answers:
            self.health.count(self.route, "messages_in")
            if self.tap is not None:
                self.tap(key, value, now)
            try:
                readings += self.decoder.decode_value(key, value, now)
            except PartialDecode as exc:
                self._bad(key, str(exc))
                readings += exc.readings
            except (DecodeError, ValueError) as exc:
                self._bad(key, str(exc))
        return readings

    def _bad(self, key: str, error: str) -> None:
        self.health.count(self.route, "decode_errors")
        self._throttle.event(f"decode|{key}", "http.decode_error", route=self.route,
                             document=key, error=error)

    async def _gone(self, out: Outbox) -> None:
        self.health.count(self.route, "reconnects")
        offline = self._outage.begun(self.tap)
        if offline:
            await out.put(list(offline))
