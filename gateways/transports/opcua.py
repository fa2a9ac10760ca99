"""OPC UA gateway: one asyncua client per source that never gives up.

asyncua has no automatic reconnect, and a session can look alive while no data flows.
So the gateway reads the server's clock (``Server_ServerStatus_CurrentTime``) every
``heartbeat_s``; on silence or any error it throws the client away, builds a new one with
the same security settings, resolves the nodes again (by browse name or namespace URI,
since indexes can move) and re-creates the subscription, with a backoff capped at
``reconnect_max_s``. Values already seen (same node, same source timestamp) are dropped,
so the initial values a new subscription sends do not duplicate points. Bad status codes
are counted, never written. One node that cannot be found or read is skipped and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from asyncua import Client, Node, ua
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent, Subscription
from asyncua.crypto import security_policies
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

from contract.counters import Counters
from contract.eventlog import describe, log_event
from contract.raw_message import RawMessage
from contract.reading import Reading
from gateways.gateway import Outbox, ValueDecoder
from gateways.transports import opcua_variant_types
from gateways.transports.opcua_nodes import OpcUaError, resolve
from gateways.transports.opcua_settings import OpcUaSettings
from gateways.transports.value_gateway import ValueGatewayBase

opcua_variant_types.install()

POLICIES = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
FLUSH_S = 0.1


class OpcUaGateway(ValueGatewayBase):
    transport = "opcua"

    def __init__(self, source: OpcUaSettings, route: str, decoder: ValueDecoder,
                 health: Counters) -> None:
        super().__init__(route, decoder, health, source)
        self.source, self.decoder = source, decoder
        self._pending: list[RawMessage | Reading] = []
        self._last_seen: dict[str, tuple[Any, Any]] = {}

    async def run(self, out: Outbox) -> None:
        flusher = asyncio.create_task(self._flush_forever(out))
        try:
            while not self._stopping.is_set():
                client = self._client()
                try:
                    await self._session(client)
                    self.reconnected()
                except Exception as exc:  # whatever happens, the gateway starts again
                    self._lost(exc)
                finally:
                    self.connected.clear()
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self.source.timeout_s):
                            await client.disconnect()
                if not self._stopping.is_set():
                    await self.back_off()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            if self._pending:
                batch, self._pending = self._pending, []
                await out.put(batch)

    def _client(self) -> Client:
        client = Client(self.source.endpoint, timeout=self.source.timeout_s)
        client.name = f"circlemade-edge {self.route}"
        client.application_uri = "urn:circlemade:edge"
        if self.source.username:
            client.set_user(self.source.username)
            password = _password(self.source)
            if password is not None:
                client.set_password(password)
        return client

    async def _session(self, client: Client) -> None:
        source = self.source
        receiver: asyncio.Task[None] | None = None
        async with asyncio.timeout(source.timeout_s * 3):
            if source.security is not None:
                await self._secure(client)
            await client.connect()
            nodes = await resolve(client, self.source, self._throttle, self.route)
            if source.mode == "subscribe":
                subscription = await self._subscribe(client, nodes)
                receiver = asyncio.create_task(self._receive_all(
                    subscription, {node.nodeid: key for key, node in nodes.items()}))
        try:
            await self._connected(client, nodes)
        finally:
            if receiver is not None:
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiver

    async def _connected(self, client: Client, nodes: dict[str, Node]) -> None:
        source = self.source
        self.connected.set()
        self._outage.over()
        log_event("opcua.connected", route=self.route, endpoint=source.endpoint,
                  nodes=len(nodes), mode=source.mode,
                  security=source.security.mode if source.security else "None")
        clock = client.get_node(ua.ObjectIds.Server_ServerStatus_CurrentTime)
        next_poll = 0.0
        while not self._stopping.is_set():
            if source.mode == "poll" and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + source.poll_interval_s
                await self._poll(nodes)
            try:
                async with asyncio.timeout(source.timeout_s):
                    await clock.read_value()
            except TimeoutError:
                raise OpcUaError(
                    f"no answer to the heartbeat within {source.timeout_s} s") from None
            wait = source.heartbeat_s if source.mode == "subscribe" else min(
                source.heartbeat_s, max(0.0, next_poll - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._stopping.wait()

    async def _secure(self, client: Client) -> None:
        security = self.source.security
        assert security is not None
        mode = getattr(ua.MessageSecurityMode, security.mode)
        await client.set_security(POLICIES[security.policy], str(security.certificate),
                                  str(security.private_key), mode=mode)
        if not any(security.trust_dir.glob("*")):
            raise OpcUaError(f"trust_dir {security.trust_dir} holds no certificate, so no "
                             "server can be trusted: copy the server's certificate into it")
        store = TrustStore([security.trust_dir], [])
        await store.load()
        client.certificate_validator = CertificateValidator(
            CertificateValidatorOptions.TRUSTED | CertificateValidatorOptions.TIME_RANGE
            | CertificateValidatorOptions.PEER_SERVER, store)

    async def _subscribe(self, client: Client, nodes: dict[str, Node]) -> Subscription:
        # asyncua's iterator mode, its queue unbounded (maxsize 0) so that nothing is
        # dropped: its handler mode spends an asyncio task on every notification, half of
        # the edge's CPU at 10,000 notifications/s (bench/README.md)
        subscription = await client.create_subscription(
            self.source.publishing_interval_ms, queue_maxsize=0)
        if self.source.deadband > 0:
            results = await subscription.deadband_monitor(list(nodes.values()),
                                                          self.source.deadband)
        else:
            results = await subscription.subscribe_data_change(
                list(nodes.values()), sampling_interval=self.source.sampling_interval_ms)
        for key, result in zip(nodes, results, strict=True):
            if isinstance(result, ua.StatusCode):
                self._throttle.event(f"subscribe|{key}", "opcua.monitor_failed",
                                     route=self.route, node=key, status=result.name)
        return subscription

    async def _receive_all(self, subscription: Subscription, keys: dict[Any, str]) -> None:
        async for event in subscription:
            if isinstance(event, DataChangeEvent):
                self.receive(keys[event.node.nodeid], event.data.monitored_item.Value)
            elif isinstance(event, StatusChangeEvent):
                log_event("opcua.subscription_status", route=self.route,
                          status=str(event.notification))

    async def _poll(self, nodes: dict[str, Node]) -> None:
        for key, node in nodes.items():
            try:
                value = await node.read_data_value()
            except ua.UaStatusCodeError as exc:
                self._bad(key, type(exc).__name__)
                continue
            self.receive(key, value)

    def receive(self, key: str, data: ua.DataValue) -> None:
        """One value of one node: checked, de-duplicated, decoded, queued."""
        self.health.count(self.route, "messages_in")
        if data.StatusCode is not None and not data.StatusCode.is_good():
            self._bad(key, data.StatusCode.name)
            return
        stamp = data.SourceTimestamp or data.ServerTimestamp
        value = data.Value.Value if data.Value is not None else None
        if self._last_seen.get(key) == (stamp, value):
            return  # the initial value of a new subscription, or a repeated poll
        self._last_seen[key] = (stamp, value)
        time_ns = _ns(stamp) if stamp is not None else time.time_ns()
        if self.tap is not None:
            self.tap(key, value, time_ns)
        try:
            self._pending.extend(self.decoder.decode_value(key, value, time_ns))
        except ValueError as exc:
            self.health.count(self.route, "decode_errors")
            self._throttle.event(f"decode|{key}", "opcua.decode_error", route=self.route,
                                 node=key, error=str(exc))

    def _bad(self, key: str, status: str) -> None:
        self.health.count(self.route, "bad_status")
        self._throttle.event(f"bad|{key}|{status}", "opcua.bad_status", route=self.route,
                             node=key, status=status)

    def _lost(self, exc: BaseException) -> None:
        message = _explain(exc)
        self._throttle.event(f"lost|{message[:60]}", "opcua.disconnected", logging.WARNING,
                             route=self.route, endpoint=self.source.endpoint, error=message)
        self._pending.extend(self._outage.begun(self.tap))

    async def _flush_forever(self, out: Outbox) -> None:
        counted = 0.0
        while True:
            await asyncio.sleep(FLUSH_S)
            received = self.health.get(self.route, "messages_in")
            if received != counted:  # for status: when the server last sent something
                counted = received
                self.health.set(self.route, "last_message_s", time.time())
            if self._pending:
                batch, self._pending = self._pending, []
                await out.put(batch)


def _ns(stamp: datetime) -> int:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1_000_000) * 1000


def _password(source: OpcUaSettings) -> str | None:
    from contract.secrets import read_secret

    secret = read_secret(source.password_env, source.password_file)
    return secret.get_secret_value() if secret else None


def _explain(exc: BaseException) -> str:
    text = describe(exc)
    if "BadCertificateUntrusted" in text:
        return ("the server's certificate is not trusted: put it (or its CA) into the "
                "trust_dir of the source's security settings, then restart")
    return text
