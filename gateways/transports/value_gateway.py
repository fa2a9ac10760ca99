"""What every value gateway (OPC UA, Modbus, HTTP) shares, like Home Assistant's update
coordinator: its name and status line, the connected flag, the recording tap, the stop,
throttled logs, the outage told once, and a capped, doubling backoff between sessions.
A transport writes only its session (connect, then poll or subscribe until lost)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar, Protocol

from contract.counters import Counters
from contract.eventlog import Throttle
from gateways.gateway import Outage, Tap, ValueDecoder


class Reconnecting(Protocol):
    """What the base reads of a source's settings."""

    @property
    def reconnect_min_s(self) -> float: ...
    @property
    def reconnect_max_s(self) -> float: ...


class ValueGatewayBase:
    transport: ClassVar[str]
    """Its name's prefix: ``opcua``, ``modbus``, ``http``."""

    def __init__(self, route: str, decoder: ValueDecoder, counters: Counters,
                 source: Reconnecting) -> None:
        self.route, self.health = route, counters
        self.name, self.status_key = f"{self.transport}:{route}", route
        self.connected = asyncio.Event()
        self.tap: Tap | None = None
        """Sees every value read (key, value, time) before decoding: recording."""
        self._stopping = asyncio.Event()
        self._throttle = Throttle()
        self._outage = Outage(decoder)
        self._min_s, self._max_s = source.reconnect_min_s, source.reconnect_max_s
        self._delay_s = self._min_s

    async def stop(self) -> None:
        self._stopping.set()

    def reconnected(self) -> None:
        """A session began (or ended well): the next backoff starts from the minimum."""
        self._delay_s = self._min_s

    async def back_off(self) -> None:
        """Wait the current delay (a stop ends it at once), then double it up to the cap."""
        await self.pause(self._delay_s)
        self._delay_s = min(self._delay_s * 2, self._max_s)

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or until a stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
