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
import functools
import hashlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt import __version__ as paho_version
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contract.counters import Counters
from contract.eventlog import Throttle, describe, log_event
from contract.raw_message import RawMessage
from contract.reading import Reading
from gateways.broker import Broker, DeviceRequest
from gateways.gateway import Tap
from gateways.transports.mqtt_publish import next_publish
from gateways.transports.read_ahead_socket import ReadAheadSocket

LINGER_S = 0.005
"""After a wake-up, let messages gather this long before taking the batch: at high rates
one wake-up per message (a pipe write and an event-loop turn each) would cost more than
the messages themselves; 5 ms of latency buys batches of tens to hundreds."""


READ_BURST = 500
"""Packets read per readiness of the socket before other tasks get their turn."""

MAX_PENDING = 5_000
"""Messages held for the pipeline before the gateway stops reading: TCP then holds the
broker back, which keeps them in its queue. Without it a fast broker (a persistent
session's backlog) filled memory faster than the pipeline emptied it."""

_tuple_new = tuple.__new__
_PUBACK = struct.Struct("!BBH").pack
"""PUBACK: the packet type, remaining length 2 and the packet identifier."""

DISCONNECT_TIMEOUT_S = 5.0

TAKEOVER_S = 10.0
"""A session the broker ends this soon after it began, three times within a minute, is
taken by another client with the same id: Mosquitto just closes the socket (paho reports
"Unspecified error" with MQTT 3.1.1 and 5 alike). A broker that sends MQTT 5's reason 142,
"Session taken over", is believed at once."""
SESSION_TAKEN_OVER = 142

PAHO_TESTED = ((2, 1), (2, 2))
"""paho versions whose internals the fast path was tested with (``_in_packet``,
``_packet_queue``): with another one the gateway reads and acknowledges as paho itself
does, slower but sure, and says so once."""


def paho_tested(version: str = paho_version) -> bool:
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return parts in PAHO_TESTED


@functools.cache
def log_untested_paho() -> None:
    """Once per process."""
    log_event("mqtt.paho_untested", logging.WARNING, version=paho_version,
              tested=[".".join(map(str, v)) for v in PAHO_TESTED],
              action="reading and acknowledging as paho does, without the fast path")


TOPIC_CACHE = 10_000
"""Topics whose routes are remembered; more than a workshop's devices ever use."""


class ReadAheadClient(paho.Client):
    """paho's client on a :class:`ReadAheadSocket`. ``_create_socket`` is paho's own (2.x);
    tests/test_mqtt_gateway.py checks that the socket in use is ours. Its TLS handshake
    checks the certificate under ``server_name`` (when it names something else than the
    address, as a Bambu printer's serial) or against a pinned fingerprint, before the
    CONNECT packet (and its password) is sent."""

    server_name: str | None = None
    fingerprint: bytes | None = None

    def _create_socket(self) -> Any:
        return ReadAheadSocket(super()._create_socket())

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        context = self._ssl_context
        assert context is not None  # tls_set_context was called
        sock = context.wrap_socket(tcp_sock, server_hostname=self.server_name or self._host,
                                   do_handshake_on_connect=False)
        sock.settimeout(self._connect_timeout)
        sock.do_handshake()
        if self.fingerprint is not None:
            seen = hashlib.sha256(sock.getpeercert(binary_form=True) or b"").digest()
            if seen != self.fingerprint:
                sock.close()
                raise ssl.SSLCertVerificationError(
                    f"the broker's certificate is sha256:{seen.hex()}, not the pinned "
                    f"sha256:{self.fingerprint.hex()} (a replaced printer or broker: check "
                    "it, then pin the new one)")
        return sock


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    qos: int
    route: str


class MqttGateway:
    def __init__(self, broker: Broker, client_id: str, subscriptions: list[Subscription],
                 health: Counters | None = None,
                 requests: list[DeviceRequest] | None = None) -> None:
        self.broker = broker
        self.requests = requests or []
        """What the devices are asked for on each connection and every so often."""
        self._asked: dict[str, float] = {}
        self.client_id = client_id
        self._health = health
        self._connected_at = 0.0
        self._short_sessions: list[float] = []
        self._throttle = Throttle()
        self._routes: defaultdict[str, list[str]] = defaultdict(list)
        self._qos: dict[str, int] = {}
        for sub in subscriptions:
            self._routes[sub.topic].append(sub.route)
            self._qos[sub.topic] = max(self._qos.get(sub.topic, 0), sub.qos)
        self._topic_routes: dict[str, list[str]] = {}
        self._pending: list[RawMessage | Reading] = []
        self._unsent_acks: list[int] = []
        self._tested_paho = paho_tested()
        if not self._tested_paho:
            log_untested_paho()
        self._fast_publish = broker.mqtt_version == "3.1.1" and self._tested_paho
        """PUBLISH packets parsed by :mod:`gateways.transports.mqtt_publish` (MQTT 5's, with their
        properties, are paho's)."""
        self._received = 0
        self._wake = asyncio.Event()
        self._socket_closed = asyncio.Event()
        self._stopping = False
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._client: paho.Client | None = None
        self._connection: asyncio.Task[None] | None = None
        self._fd = -1
        self._paused = False
        self._delay_s = broker.reconnect_min_s
        self._unreachable_logged = False
        self.connected = threading.Event()
        self.name = self.status_key = f"mqtt:{broker.id}"
        self.tap: Tap | None = None
        """Unused: MQTT's raw messages are recorded from the outbox."""

    async def run(self, out: asyncio.Queue[list[RawMessage | Reading] | None]) -> None:
        """Receive until :meth:`stop`; every message received is put on ``out``."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._client = client = self._make_client()
        self._connection = asyncio.create_task(self._connect_forever(client))
        asking = asyncio.create_task(self._ask_again()) if self.requests else None
        try:
            while True:
                await self._wake.wait()
                await asyncio.sleep(LINGER_S)
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

    async def _ask_again(self) -> None:
        """Each device request again once its interval has passed, while connected."""
        while True:
            await asyncio.sleep(min(r.every_s for r in self.requests) / 10)
            if self.connected.is_set() and self._client is not None:
                self._ask(self._client, due_only=True)

    def _ask(self, client: paho.Client, due_only: bool = False) -> None:
        now = time.monotonic()
        for request in self.requests:
            if due_only and now - self._asked.get(request.topic, now) < request.every_s:
                continue
            client.publish(request.topic, request.payload, qos=0)
            self._asked[request.topic] = now

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

    async def _shutdown_client(self) -> None:
        self._send_acks()  # acknowledgements given but not yet queued go before DISCONNECT
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

    async def _connect_forever(self, client: paho.Client) -> None:
        while not self._closing:
            self._socket_closed.clear()
            try:
                rc = await asyncio.to_thread(
                    client.connect, self.broker.host, self.broker.port,
                    keepalive=self.broker.keepalive_s, **self._session_options())
                if rc != paho.MQTT_ERR_SUCCESS:
                    raise ConnectionError(paho.error_string(rc))
            except (OSError, ssl.SSLError) as error:
                self._unreachable(error)
            else:
                keepalive = asyncio.create_task(self._keep_alive(client))
                await self._socket_closed.wait()
                keepalive.cancel()
            if self._closing:
                return
            await asyncio.sleep(self._delay_s)
            self._delay_s = min(self._delay_s * 2, max(1.0, self.broker.reconnect_max_s))

    async def _keep_alive(self, client: paho.Client) -> None:
        """paho's pings and its check that the broker still answers."""
        while True:
            await asyncio.sleep(1.0)
            if client.loop_misc() != paho.MQTT_ERR_SUCCESS:
                return

    def _in_loop(self, callback: Callable[..., object], *args: Any) -> None:
        """paho calls the socket callbacks from the connecting worker thread too."""
        assert self._loop is not None
        if threading.get_ident() == self._loop_thread:
            callback(*args)
        else:
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._fd = sock.fileno()
        self._in_loop(self._watch, client, self._fd)

    def _watch(self, client: paho.Client, fd: int) -> None:
        if fd == self._fd:  # not closed meanwhile
            self._start_reading(client)

    def _resume_reading(self) -> None:
        if self._fd >= 0 and self._client is not None:
            self._start_reading(self._client)

    def _start_reading(self, client: paho.Client) -> None:
        assert self._loop is not None
        self._paused = False
        self._loop.add_reader(self._fd, self._readable, client)
        self._loop.call_soon(self._readable, client)  # what the read-ahead already holds

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        fd, self._fd = self._fd, -1
        self._in_loop(self._unwatch, fd)

    def _unwatch(self, fd: int) -> None:
        assert self._loop is not None
        if fd >= 0:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        self._socket_closed.set()

    def _on_socket_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._in_loop(self._watch_write, client, sock.fileno())

    def _watch_write(self, client: paho.Client, fd: int) -> None:
        assert self._loop is not None
        if fd == self._fd:
            self._loop.add_writer(fd, client.loop_write)

    def _on_socket_unregister_write(self, client: paho.Client, userdata: Any,
                                    sock: Any) -> None:
        assert self._loop is not None
        self._in_loop(self._loop.remove_writer, sock.fileno())

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
        if self.broker.mqtt_version == "5":
            client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                     protocol=paho.MQTTv5, manual_ack=True)
        else:
            client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                     protocol=paho.MQTTv311, clean_session=False,
                                     manual_ack=True)
        if self.broker.username:
            password = self.broker.password()
            client.username_pw_set(
                self.broker.username, password.get_secret_value() if password else None
            )
        if self.broker.tls:
            client.tls_set_context(self.broker.tls_context())
            client.server_name, client.fingerprint = self.broker.server_name, self.broker.pinned()
            if not self.broker.tls_verify:
                log_event("mqtt.tls_not_verified", logging.WARNING, broker=self.broker.id,
                          host=self.broker.host, advice="tls_verify = false: anyone on the "
                          "network can pose as this broker; pin its tls_fingerprint")
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
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
        self._deliver(client, message.topic, bytes(message.payload), message.qos, message.mid)

    def _deliver(self, client: paho.Client, topic: str, payload: bytes, qos: int,
                 mid: int) -> None:
        received_ns = time.time_ns()
        self._received += 1
        routes = self._routes_of(topic)
        ack = (None if not qos else partial(self._acknowledge, mid) if qos == 1
               else partial(client.ack, mid, qos))
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
        """A QoS 1 message's PUBACK, sent with the others of its batch: the pipeline
        acknowledges a committed batch in one go, and paho writes each PUBACK with a
        system call of its own (bench/README.md, the drain's profile)."""
        if not self._unsent_acks:
            assert self._loop is not None
            self._loop.call_soon(self._send_acks)
        self._unsent_acks.append(mid)

    def _send_acks(self) -> None:
        """The PUBACKs of a batch as one packet on paho's outgoing queue (4 bytes each,
        the same in MQTT 3.1.1 and 5 for success), written as paho writes every packet;
        while the connection is being made again they wait for its CONNACK."""
        if not self.connected.is_set():
            return  # held until the CONNACK: a PUBACK ahead of CONNECT ends the connection
        mids, self._unsent_acks = self._unsent_acks, []
        if self._client is not None and mids and not self._tested_paho:
            for mid in mids:  # paho's own, one packet each
                self._client.ack(mid, 1)
        elif self._client is not None and mids:
            packet = b"".join([_PUBACK(0x40, 2, mid) for mid in mids])
            self._client._packet_queue(paho.PUBACK, packet, 0, 0)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log_event("mqtt.connect_refused", logging.ERROR, broker=self.broker.id,
                      reason=str(reason))
            return
        self._unreachable_logged = False
        self._delay_s = self.broker.reconnect_min_s
        self._connected_at = time.monotonic()
        client.subscribe([(topic, self._qos[topic]) for topic in self._routes])
        self._ask(client)
        self.connected.set()
        if self._unsent_acks and self._loop is not None:  # held while the socket opened
            self._loop.call_soon_threadsafe(self._send_acks)
        log_event("mqtt.connected", broker=self.broker.id, host=self.broker.host,
                  port=self.broker.port, client_id=self.client_id,
                  session_present=bool(flags.session_present), topics=len(self._routes))

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int,
                      reasons: list[Any], properties: Any) -> None:
        """Subscribed: from here on nothing published is missed. A topic the broker
        refuses (its ACL) is an error naming it."""
        topics = list(self._routes)
        refused = [f"{topic} ({reason})" for topic, reason in zip(topics, reasons, strict=False)
                   if reason.is_failure]
        if refused:
            log_event("mqtt.subscription_refused", logging.ERROR, broker=self.broker.id,
                      topics=refused)
        log_event("mqtt.subscribed", broker=self.broker.id, topics=len(topics) - len(refused))

    def _unreachable(self, error: Exception) -> None:
        if not self._unreachable_logged:
            self._unreachable_logged = True
            log_event("mqtt.unreachable", logging.WARNING, broker=self.broker.id,
                      host=self.broker.host, port=self.broker.port, error=describe(error),
                      retry_max_s=self.broker.reconnect_max_s)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        log_event("mqtt.disconnected", logging.WARNING if reason.is_failure else logging.INFO,
                  broker=self.broker.id, reason=str(reason))
        if self._closing or not reason.is_failure:
            return
        now = time.monotonic()
        if now - self._connected_at < TAKEOVER_S:
            self._short_sessions = [t for t in self._short_sessions if now - t < 60] + [now]
        if getattr(reason, "value", None) == SESSION_TAKEN_OVER or len(self._short_sessions) >= 3:
            self._short_sessions.clear()
            self._delay_s = self.broker.reconnect_max_s  # no ping-pong at full speed
            if self._health is not None:
                self._health.count(f"mqtt:{self.broker.id}", "client_id_conflicts")
            self._throttle.event("takeover", "mqtt.client_id_conflict", logging.ERROR,
                                 broker=self.broker.id, client_id=self.client_id,
                                 message=f"another client uses client id {self.client_id!r}: "
                                 "the broker gives the session to whichever connected last. "
                                 "Give each edge its own [[brokers]] client_id (unset, it "
                                 "includes the host name)")
