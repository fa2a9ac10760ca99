"""What the service asks of every transport's gateway (value sources build theirs:
``ValueSourceBase.gateway`` in gateways/profiles/base.py).

Two kinds of traffic come in. MQTT brings messages (a topic and a payload) that the
ingest stage decodes by route; one connection per broker carries many sources. The
other transports read values (a node, a register block, an HTTP document) that their
gateway decodes at once, one gateway per source. Both are recorded the same way for
their kind: a message as topic and payload, a value as route, key and value, so that
``circlemade replay`` sends each back through the decoder it came from.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from contract.raw_message import RawMessage
from contract.reading import Reading

Outbox = asyncio.Queue[list[RawMessage | Reading] | None]
Tap = Callable[[str, Any, int], None]
"""Called with (key, value, time_ns) for every value a value gateway reads: a recorder."""
CONNECTION_LOST = "(connection lost)"
"""The key under which a value gateway records that its device went away."""


class Flag(Protocol):
    """A threading or asyncio Event, as far as status needs it."""

    def is_set(self) -> bool: ...


class Gateway(Protocol):
    name: str
    """Its task's name: ``mqtt:<broker>``, ``opcua:<route>``, ``modbus:<route>``..."""
    status_key: str
    """Its line in ``circlemade status`` (and its ``edge_health`` source)."""
    @property
    def connected(self) -> Flag: ...

    tap: Tap | None

    async def run(self, out: Outbox) -> None: ...

    async def stop(self) -> None: ...


class ValueDecoder(Protocol):
    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]: ...

    def offline(self, time_ns: int) -> list[Reading]: ...


class Outage:
    """A value gateway's device gone: its machine offline once per outage, and the
    recording told (``CONNECTION_LOST``) so that a replay does the same."""

    def __init__(self, decoder: ValueDecoder) -> None:
        self.decoder = decoder
        self.told = False

    def over(self) -> None:
        self.told = False

    def begun(self, tap: Tap | None) -> list[Reading]:
        """The readings that say so, the first time in this outage; none after."""
        if self.told:
            return []
        self.told = True
        now = time.time_ns()
        if tap is not None:
            tap(CONNECTION_LOST, None, now)
        return list(self.decoder.offline(now))
