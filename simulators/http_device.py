"""What the simulated HTTP devices (a PrusaLink printer, an MTConnect agent) share: an
aiohttp server on 127.0.0.1 that can be stopped and started again, as a device that is
switched off and on."""

from __future__ import annotations

import ssl

from aiohttp import web


class HttpDevice:
    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.port, self.tls = port, tls
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
