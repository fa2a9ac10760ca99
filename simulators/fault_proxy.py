"""An HTTP proxy in front of a real InfluxDB that misbehaves on request: answers with a
status of our choice (with ``Retry-After`` if asked), hangs, or passes requests through.
It runs in a thread of its own on a free loopback port, so a service in another process
(or in the test's event loop) talks to it like to InfluxDB. ``accepted`` is called with
the body of every write InfluxDB accepted, for counting what arrived how often. The
tests and the soak benchmark use it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass
class Fault:
    status: int | None = None
    """Answer every write with this status; None passes writes through."""
    retry_after: str | None = None
    hang: bool = False
    """Never answer (until the fault changes)."""


@dataclass
class FaultProxy:
    upstream: str
    fault: Fault = field(default_factory=Fault)
    writes: list[float] = field(default_factory=list)
    """Monotonic times of the write requests received."""
    port: int = 0
    accepted: Callable[[bytes], None] | None = None

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the fault proxy did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = self.fault
        if request.path == "/write":
            self.writes.append(time.monotonic())
            while fault.hang and self.fault is fault:  # noqa: ASYNC110 (set by another thread)
                await asyncio.sleep(0.05)
            if fault.status is not None and self.fault is fault:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return web.Response(status=fault.status, text='{"error":"injected fault"}',
                                    headers=headers)
        try:
            async with self._session.request(request.method, self.upstream + request.path_qs,
                                             data=body, headers=_forwarded(request)) as upstream:
                answer = await upstream.read()
                if request.path == "/write" and upstream.status == 204 and self.accepted:
                    self.accepted(body)
                return web.Response(status=upstream.status, body=answer,
                                    headers={"Content-Type": upstream.content_type})
        except aiohttp.ClientError as exc:  # InfluxDB away: what a reverse proxy answers
            return web.Response(status=502, text=f"upstream: {exc}")

    def close(self) -> None:
        async def stop() -> None:
            await self._runner.cleanup()
            await self._session.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


def _forwarded(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items()
            if k.lower() in ("authorization", "content-type", "content-encoding")}
