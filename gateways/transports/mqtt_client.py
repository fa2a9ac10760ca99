"""The paho client the MQTT gateway runs: on a read-ahead socket, its TLS checked before
the password is sent, in a persistent session; and which paho versions the gateway's fast
path was tested with."""

from __future__ import annotations

import functools
import hashlib
import logging
import socket
import ssl
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt import __version__ as paho_version
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contract.eventlog import log_event
from gateways.broker import Broker
from gateways.transports.read_ahead_socket import ReadAheadSocket

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


def make_client(broker: Broker, client_id: str) -> ReadAheadClient:
    """A client for ``broker`` with manual acknowledgements, its credentials and TLS."""
    if broker.mqtt_version == "5":
        client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=paho.MQTTv5, manual_ack=True)
    else:
        client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=paho.MQTTv311, clean_session=False,
                                 manual_ack=True)
    if broker.username:
        password = broker.password()
        client.username_pw_set(broker.username,
                               password.get_secret_value() if password else None)
    if broker.tls:
        client.tls_set_context(broker.tls_context())
        client.server_name, client.fingerprint = broker.server_name, broker.pinned()
        if not broker.tls_verify:
            log_event("mqtt.tls_not_verified", logging.WARNING, broker=broker.id,
                      host=broker.host, advice="tls_verify = false: anyone on the "
                      "network can pose as this broker; pin its tls_fingerprint")
    client.max_inflight_messages_set(100)
    return client


def session_options(broker: Broker) -> dict[str, Any]:
    """A persistent session: clean_session=False (3.1.1), or MQTT 5 session expiry."""
    if broker.mqtt_version != "5":
        return {}
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = broker.session_expiry_s
    return {"clean_start": False, "properties": properties}
