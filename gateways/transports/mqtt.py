"""MQTT gateway: one paho-mqtt client per broker, run by the service's event loop.

Messages are acknowledged by hand (paho's ``manual_ack``): only once their points are in
the durable buffer, so a killed edge loses nothing; the broker redelivers the rest to the
persistent session (stable client id, clean_session false or MQTT 5 session expiry).

paho runs on the event loop through its external-loop interface (socket callbacks,
``loop_read``, ``loop_write``, ``loop_misc``), as aiomqtt does; only the blocking TCP/TLS
connect runs in a worker thread. With paho's own network thread, each message crossed
threads (a lock and a wake-up), each acknowledgement woke that thread through a socket
pair, and the two threads took turns at the GIL (bench/README.md). The gateway
reconnects forever with capped exponential backoff.

Messages gather in a list and the pipeline takes the whole list at once, at most one
wake-up per batch: a per-message ``await`` would cost more than decoding (README,
"Choices, and why"), so batches are the unit of work in the hot path.

Backpressure: the list is unbounded while ``run`` waits on the bounded ``out`` queue; with
QoS 1 the broker's in-flight window limits what can pile up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from functools import partial
from typing import Any

import paho.mqtt.client as paho

from contract.counters import Counters
from contract.eventlog import log_event
from contract.raw_message import RawMessage
from contract.reading import Reading
from gateways.broker import Broker, DeviceRequest
from gateways.gateway import Tap
from gateways.transports.mqtt_acks import PubAcks
from gateways.transports.mqtt_client import (
    ReadAheadClient,
    log_untested_paho,
    make_client,
    paho_tested,
)
from gateways.transports.mqtt_loop import PahoOnAsyncio
from gateways.transports.mqtt_publish import next_publish
from gateways.transports.mqtt_requests import DeviceAsker
from gateways.transports.mqtt_routes import Routes, Subscription
from gateways.transports.mqtt_takeover import TakeoverWatch
from gateways.transports.mqtt_window import Gathering
from gateways.transports.read_ahead_socket import ReadAheadSocket

READ_BURST = 500
"""Packets read per readiness of the socket before other tasks get their turn."""

MAX_PENDING = 5_000
"""Messages held for the pipeline before the gateway stops reading: TCP then holds the
broker back, which keeps them in its queue. Without it a fast broker (a persistent
session's backlog) filled memory faster than the pipeline emptied it."""

_tuple_new = tuple.__new__

DISCONNECT_TIMEOUT_S = 5.0

class MqttGateway(PahoOnAsyncio):
    def __init__(self, broker: Broker, client_id: str, subscriptions: list[Subscription],
                 health: Counters | None = None,
                 requests: list[DeviceRequest] | None = None) -> None:
        super().__init__(broker)
        self._asker = DeviceAsker(requests or [])
        """What the devices are asked for on each connection and every so often."""
        self.client_id = client_id
        self._takeovers = TakeoverWatch(broker.id, client_id, health)
        self._routes = Routes(subscriptions)
        self._pending: list[RawMessage | Reading] = []
        self._tested_paho = paho_tested()
        if not self._tested_paho:
            log_untested_paho()
        self._fast_publish = broker.mqtt_version == "3.1.1" and self._tested_paho
        """PUBLISH packets parsed by :mod:`gateways.transports.mqtt_publish` (MQTT 5's, with their
        properties, are paho's)."""
        self._received = 0
        self._wake = asyncio.Event()
        self._gathering = Gathering()
        self._stopping = False
        self._connection: asyncio.Task[None] | None = None
        self.connected = threading.Event()
        self._acks = PubAcks(lambda: self._client, lambda: self._loop, self.connected,
                             self._tested_paho)
        self.name = self.status_key = f"mqtt:{broker.id}"
        self.tap: Tap | None = None
        """Unused: MQTT's raw messages are recorded from the outbox."""

    async def run(self, out: asyncio.Queue[list[RawMessage | Reading] | None]) -> None:
        """Receive until :meth:`stop`; every message received is put on ``out``."""
        self._bind_loop()
        self._client = client = self._make_client()
        self._connection = asyncio.create_task(self._connect_forever(client))
        asking = (asyncio.create_task(self._asker.again(lambda: self._client, self.connected))
                  if self._asker.requests else None)
        try:
            while True:
                await self._wake.wait()
                await self._gathering.until_ready()
                self._wake.clear()
                batch, self._pending = self._pending, []
                if batch:
                    await out.put(batch)
                if self._paused:  # only once the pipeline has taken the batch
                    self._resume_reading()
                if self._stopping:
                    return
        finally:
            if asking is not None:
                asking.cancel()
            if not self._stopping:
                await self._shutdown_client()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> bool:
        """Publish on this connection (what a person said on the terminal page); False
        when the broker is not connected, so the page can say it was not sent."""
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        return bool(client.publish(topic, payload, qos=qos).rc == paho.MQTT_ERR_SUCCESS)

    async def stop(self) -> None:
        """Disconnect, then let :meth:`run` hand over what was received and return."""
        await self._shutdown_client()
        self._stopping = True
        self._wake.set()
        self._gathering.stop()

    async def _shutdown_client(self) -> None:
        self._acks.send()  # acknowledgements given but not yet queued go before DISCONNECT
        client, self._client = self._client, None
        if client is None:
            return
        self._closing = True
        if client.socket() is not None:
            client.disconnect()  # written by loop_write, then paho closes the socket
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._socket_closed.wait(), DISCONNECT_TIMEOUT_S)
        if self._connection is not None:
            self._connection.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connection

    # -- connection -----------------------------------------------------------------------

    def _readable(self, client: paho.Client) -> None:
        """Read what has arrived, a burst of packets per turn of the event loop: one
        ``loop_read`` reads one packet, and a turn of the loop per message would cost
        more than the message."""
        if self._paused:  # a turn scheduled before the pause
            return
        sock = client.socket()
        ours = sock if self._fast_publish and isinstance(sock, ReadAheadSocket) else None
        burst_end = self._received + READ_BURST
        while self._received < burst_end:
            received = self._received
            if ours is not None:
                self._take_publishes(client, ours, burst_end)
            if client.loop_read() != paho.MQTT_ERR_SUCCESS or self._received == received:
                break
        assert self._loop is not None
        self._gathering.read()
        if len(self._pending) >= MAX_PENDING and self._fd >= 0:
            self._loop.remove_reader(self._fd)  # until run() takes the batch
            self._paused = True
            return
        sock = client.socket()  # paho may have reconnected meanwhile
        pending = getattr(sock, "pending", None)  # TLS: decrypted bytes the fd does not show
        if pending is not None and pending():
            self._loop.call_soon(self._readable, client)

    def _take_publishes(self, client: paho.Client, sock: ReadAheadSocket, until: int) -> None:
        """The whole QoS 0/1 PUBLISH packets read ahead, parsed here rather than by paho
        (gateways/transports/mqtt_publish.py), in order, until ``until`` messages were received:
        only while paho is between packets."""
        if client._in_packet["command"]:  # paho holds the start of a packet
            return
        data, position = sock.held()
        start = position
        while (self._received < until
               and (packet := next_publish(data, position)) is not None):
            position = packet.end
            self._deliver(client, packet.topic, packet.payload, packet.qos, packet.mid)
        if position != start:
            sock.advance(position)

    def _make_client(self) -> ReadAheadClient:
        client = make_client(self.broker, self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._watch_sockets(client)
        return client

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._deliver(client, message.topic, bytes(message.payload), message.qos, message.mid)

    def _deliver(self, client: paho.Client, topic: str, payload: bytes, qos: int,
                 mid: int) -> None:
        received_ns = time.time_ns()
        self._received += 1
        routes = self._routes.of(topic)
        ack = (None if not qos else partial(self._acknowledge, mid) if qos == 1
               else partial(client.ack, mid, qos))
        self._gathering.received(qos)
        if not routes:  # no broker should send one; acknowledged, or it comes back forever
            if ack is not None:
                ack()
            return
        pending = self._pending
        for route in routes:
            pending.append(_tuple_new(RawMessage, (route, topic, payload, received_ns, ack)))
            ack = None  # one acknowledgement per message, whatever its routes
        if not self._wake.is_set():
            self._wake.set()

    def _acknowledge(self, mid: int) -> None:
        self._gathering.window.acknowledged()
        self._acks.acknowledge(mid)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log_event("mqtt.connect_refused", logging.ERROR, broker=self.broker.id,
                      reason=str(reason))
            return
        self._unreachable_logged = False
        self._delay_s = self.broker.reconnect_min_s
        self._takeovers.connected()
        self._gathering.window.reconnected()
        client.subscribe([(topic, self._routes.qos[topic]) for topic in self._routes.filters()])
        self._asker.ask(client)
        self.connected.set()
        if self._acks.unsent and self._loop is not None:  # held while the socket opened
            self._loop.call_soon_threadsafe(self._acks.send)
        log_event("mqtt.connected", broker=self.broker.id, host=self.broker.host,
                  port=self.broker.port, client_id=self.client_id,
                  session_present=bool(flags.session_present), topics=len(self._routes.filters()))

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int,
                      reasons: list[Any], properties: Any) -> None:
        self._routes.subscribed(self.broker.id, reasons)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        log_event("mqtt.disconnected", logging.WARNING if reason.is_failure else logging.INFO,
                  broker=self.broker.id, reason=str(reason))
        if self._closing or not reason.is_failure:
            return
        if self._takeovers.taken_over(reason):
            self._delay_s = self.broker.reconnect_max_s  # no ping-pong at full speed
