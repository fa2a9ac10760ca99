"""The settings of one MQTT broker: where it is, how to log in and verify it, how the
session is kept."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from contract.addresses import Host
from contract.model import Identifier, Port, PositiveSeconds, StrictModel
from contract.secrets import read_secret


def _not_qos_2(qos: int) -> int:
    if qos == 2:
        raise ValueError("QoS 2 is not taken: paho acknowledges it (PUBREC) as it arrives, "
                         "before the buffer's commit, so a killed edge would lose the message; "
                         "use 1: acknowledged after the commit, stored once through the buffer")
    return qos


Qos = Annotated[int, Field(ge=0, le=2), AfterValidator(_not_qos_2)]
"""0 or 1: what the edge can acknowledge after its commit."""


class Broker(StrictModel):
    id: Identifier = "main"
    """Sources name their broker by this id."""
    host: Host = "127.0.0.1"
    """The broker's host name or address."""
    port: Port = 1883
    """1883, or 8883 for TLS."""
    client_id: str | None = None
    """Stable client id for the persistent session; ``circlemade-<site>-<broker>-<host
    name>`` if unset (so a config copied to a second box does not collide). Set it where the
    host name changes (a recreated container): the session hangs on it."""
    username: str | None = None
    """Login, with the password from password_env or password_file."""
    password_env: str | None = None
    """Environment variable holding the password."""
    password_file: Path | None = None
    """File holding the password."""
    tls: bool = False
    """Connect over TLS (mqtts), verifying the broker's certificate."""
    ca_file: Path | None = None
    """CA bundle that signed the broker's certificate; the system's CAs when unset."""
    cert_file: Path | None = None
    """Client certificate, for brokers that require one."""
    key_file: Path | None = None
    """Client certificate and key, for brokers that require one."""
    server_name: str | None = None
    """The name the broker's certificate is checked against, when it is not ``host``: a
    Bambu printer's certificate names its serial number, not its address."""
    tls_fingerprint: str | None = None
    """Trust exactly this certificate (``sha256:...`` of its DER form) instead of a CA:
    ``circlemade tls fingerprint HOST:PORT`` prints it, the first time, like SSH's known
    hosts."""
    tls_verify: bool = True
    """false skips every check of the broker's certificate: only when written, with a
    warning in check-config and in the log. Prefer tls_fingerprint."""
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    """MQTT keepalive: a silent connection is found dead within 1.5 times this."""
    mqtt_version: Literal["3.1.1", "5"] = "3.1.1"
    """3.1.1 by default: paho builds a Properties object per MQTT 5 message, which cut
    end-to-end ingest from 8,000 to 5,800 msg/s (bench/README.md, history)."""
    session_expiry_s: Annotated[int, Field(ge=0)] = 86400
    """MQTT 5: how long the broker keeps the session while the edge is away."""
    qos: Qos = 1
    """Default QoS of the subscriptions: 1 is at least once, acknowledged after commit;
    0 at most once; 2 is refused (paho would acknowledge it before the commit)."""
    reconnect_min_s: PositiveSeconds = 1.0
    """Backoff after a lost connection, doubling up to reconnect_max_s."""
    reconnect_max_s: PositiveSeconds = 30.0
    """The backoff's cap."""

    @field_validator("tls_fingerprint")
    @classmethod
    def _a_fingerprint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
                r"sha256:([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}", value):
            raise ValueError("expected sha256: and 64 hex digits (colons allowed); "
                             "circlemade tls fingerprint HOST:PORT prints it")
        return value

    @model_validator(mode="after")
    def _tls_options(self) -> Broker:
        if not self.tls and (self.server_name or self.tls_fingerprint or not self.tls_verify):
            raise ValueError("tls: server_name, tls_fingerprint and tls_verify need tls = true")
        if self.tls_fingerprint and not self.tls_verify:
            raise ValueError("tls_verify: false checks nothing, not even tls_fingerprint; "
                             "give one or the other")
        return self

    def password(self) -> SecretStr | None:
        return read_secret(self.password_env, self.password_file)

    def pinned(self) -> bytes | None:
        """The fingerprint's bytes, when one is pinned."""
        if self.tls_fingerprint is None:
            return None
        return bytes.fromhex(self.tls_fingerprint.removeprefix("sha256:").replace(":", ""))

    def tls_context(self) -> ssl.SSLContext:
        """Verified against the CA (ca_file or the system's) under ``server_name`` or
        ``host``; against the pinned fingerprint only (checked after the handshake,
        before a byte of MQTT is sent); or, when written, not at all."""
        if self.tls_fingerprint is not None or not self.tls_verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        else:
            context = ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None:
            context.load_cert_chain(str(self.cert_file),
                                    str(self.key_file) if self.key_file else None)
        return context


def fetch_fingerprint(host: str, port: int, timeout_s: float = 10.0) -> tuple[str, str]:
    """The ``sha256:`` fingerprint of the certificate a TLS server presents, and its
    subject, read without trusting it (to be checked by a person, then pinned)."""
    import hashlib
    import socket

    from cryptography import x509

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout_s) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True) or b""
    digest = hashlib.sha256(der).hexdigest()
    subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return "sha256:" + ":".join(digest[i:i + 2] for i in range(0, 64, 2)), subject


class DeviceRequest(NamedTuple):
    """A message the gateway publishes to a device: on each connection, then every
    ``every_s`` while connected (a Bambu printer's full report). The only writes the
    service ever makes to a device."""

    topic: str
    payload: bytes
    every_s: float
