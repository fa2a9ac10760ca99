"""MQTT gateway: one paho-mqtt client per broker, messages handed to asyncio in batches.

Messages are acknowledged by hand (paho's ``manual_ack``): only once their points are in
the durable buffer, so a killed edge loses nothing; the broker redelivers the rest to the
persistent session (stable client id, clean_session false or MQTT 5 session expiry).

paho runs its network loop in its own thread and reconnects forever with capped
exponential backoff. Its callbacks only append to a list under a lock and, at most once
per batch, wake the event loop; the async side takes the whole list at once. A
per-message ``await`` would cost more than decoding (see DESIGN.md, measured figures),
so batches are the unit of work in the hot path.

Backpressure: paho's thread must never block (it also answers keepalives), so the
pending list is unbounded; the bound is downstream, where ``out`` is a bounded queue and
``run`` waits on it. With QoS 1 the broker's in-flight window limits what can pile up.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import Broker
from edge.eventlog import log_event
from edge.reading import Reading
from gateways.raw_message import RawMessage

LINGER_S = 0.005
"""After a wake-up, let messages gather this long before taking the batch: at high rates
one wake-up per message (a pipe write and an event-loop turn each) would cost more than
the messages themselves; 5 ms of latency buys batches of tens to hundreds."""


TOPIC_CACHE = 10_000
"""Topics whose routes are remembered; more than a workshop's devices ever use."""


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    qos: int
    route: str


class MqttGateway:
    def __init__(self, broker: Broker, client_id: str, subscriptions: list[Subscription]) -> None:
        self.broker = broker
        self.client_id = client_id
        self._routes: defaultdict[str, list[str]] = defaultdict(list)
        self._qos: dict[str, int] = {}
        for sub in subscriptions:
            self._routes[sub.topic].append(sub.route)
            self._qos[sub.topic] = max(self._qos.get(sub.topic, 0), sub.qos)
        self._topic_routes: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._pending: list[RawMessage | Reading] = []
        self._wake_scheduled = False
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None
        self._unreachable_logged = False
        self.connected = threading.Event()

    async def run(self, out: asyncio.Queue[list[RawMessage | Reading] | None]) -> None:
        """Receive until :meth:`stop`; every message received is put on ``out``."""
        self._loop = asyncio.get_running_loop()
        self._client = client = self._make_client()
        client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.broker.keepalive_s,
            **self._session_options(),
        )
        client.loop_start()
        try:
            while True:
                await self._wake.wait()
                await asyncio.sleep(LINGER_S)
                self._wake.clear()
                batch = self._take()
                if batch:
                    await out.put(batch)
                if self._stopping:
                    return
        finally:
            if not self._stopping:
                await self._shutdown_client()

    async def stop(self) -> None:
        """Disconnect, then let :meth:`run` hand over what was received and return."""
        await self._shutdown_client()
        self._stopping = True
        self._wake.set()

    async def _shutdown_client(self) -> None:
        client = self._client
        if client is not None:
            self._client = None
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    def _take(self) -> list[RawMessage | Reading]:
        with self._lock:
            batch, self._pending = self._pending, []
            self._wake_scheduled = False
        return batch

    def _make_client(self) -> paho.Client:
        if self.broker.mqtt_version == "5":
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                 protocol=paho.MQTTv5, manual_ack=True)
        else:
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                 protocol=paho.MQTTv311, clean_session=False, manual_ack=True)
        if self.broker.username:
            password = self.broker.password()
            client.username_pw_set(
                self.broker.username, password.get_secret_value() if password else None
            )
        if self.broker.tls:
            client.tls_set(
                ca_certs=str(self.broker.ca_file) if self.broker.ca_file else None,
                certfile=str(self.broker.cert_file) if self.broker.cert_file else None,
                keyfile=str(self.broker.key_file) if self.broker.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.reconnect_delay_set(
            min_delay=max(1, int(self.broker.reconnect_min_s)),
            max_delay=max(1, int(self.broker.reconnect_max_s)),
        )
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _session_options(self) -> dict[str, Any]:
        """A persistent session: clean_session=False (3.1.1), or MQTT 5 session expiry."""
        if self.broker.mqtt_version != "5":
            return {}
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.broker.session_expiry_s
        return {"clean_start": False, "properties": properties}

    def _routes_of(self, topic: str) -> list[str]:
        """The routes whose filters match ``topic``, remembered per topic: one dict lookup
        per message in the hot path."""
        routes = self._topic_routes.get(topic)
        if routes is None:
            if len(self._topic_routes) >= TOPIC_CACHE:
                self._topic_routes.clear()  # a flood of new topics must not grow memory
            routes = self._topic_routes[topic] = [
                route for pattern, pattern_routes in self._routes.items()
                if paho.topic_matches_sub(pattern, topic) for route in pattern_routes]
        return routes

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        received_ns = time.time_ns()
        topic = message.topic
        routes = self._routes_of(topic)
        ack = partial(client.ack, message.mid, message.qos) if message.qos else None
        if not routes:  # no broker should send one; acknowledged, or it comes back forever
            if ack is not None:
                ack()
            return
        payload = bytes(message.payload)
        with self._lock:
            for route in routes:
                self._pending.append(RawMessage(route, topic, payload, received_ns, ack))
                ack = None  # one acknowledgement per message, whatever its routes
            schedule = not self._wake_scheduled
            self._wake_scheduled = True
        if schedule and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log_event("mqtt.connect_refused", logging.ERROR, broker=self.broker.id,
                      reason=str(reason))
            return
        self._unreachable_logged = False
        client.subscribe([(topic, self._qos[topic]) for topic in self._routes])
        self.connected.set()
        log_event("mqtt.connected", broker=self.broker.id, host=self.broker.host,
                  port=self.broker.port, client_id=self.client_id,
                  session_present=bool(flags.session_present), topics=len(self._routes))

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        if not self._unreachable_logged:
            self._unreachable_logged = True
            log_event("mqtt.unreachable", logging.WARNING, broker=self.broker.id,
                      host=self.broker.host, port=self.broker.port,
                      retry_max_s=self.broker.reconnect_max_s)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        log_event("mqtt.disconnected", logging.WARNING if reason.is_failure else logging.INFO,
                  broker=self.broker.id, reason=str(reason))
