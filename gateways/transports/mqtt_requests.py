"""What the MQTT gateway asks its devices for (``DeviceRequest``: a Bambu printer's
``pushall``), on each connection and again once each request's interval has passed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho

from gateways.broker import DeviceRequest


class DeviceAsker:
    def __init__(self, requests: list[DeviceRequest]) -> None:
        self.requests = requests
        self._asked: dict[str, float] = {}

    def ask(self, client: paho.Client, due_only: bool = False) -> None:
        now = time.monotonic()
        for request in self.requests:
            if due_only and now - self._asked.get(request.topic, now) < request.every_s:
                continue
            client.publish(request.topic, request.payload, qos=0)
            self._asked[request.topic] = now

    async def again(self, client: Callable[[], paho.Client | None],
                    connected: threading.Event) -> None:
        """Each request again once its interval has passed, while connected."""
        while True:
            await asyncio.sleep(min(r.every_s for r in self.requests) / 10)
            current = client()
            if connected.is_set() and current is not None:
                self.ask(current, due_only=True)
