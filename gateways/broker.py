"""The settings of one MQTT broker: where it is, how to log in and verify it, how the
session is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from contract.model import Identifier, Port, PositiveSeconds, StrictModel
from contract.secrets import read_secret


class Broker(StrictModel):
    id: Identifier = "main"
    """Sources name their broker by this id."""
    host: str = "127.0.0.1"
    """The broker's host name or address."""
    port: Port = 1883
    """1883, or 8883 for TLS."""
    client_id: str | None = None
    """Stable client id for the persistent session; ``circlemade-<site>-<broker>`` if unset."""
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
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    """MQTT keepalive: a silent connection is found dead within 1.5 times this."""
    mqtt_version: Literal["3.1.1", "5"] = "3.1.1"
    """3.1.1 by default: paho builds a Properties object per MQTT 5 message, which cut
    end-to-end ingest from 8,000 to 5,800 msg/s (bench/README.md, history)."""
    session_expiry_s: Annotated[int, Field(ge=0)] = 86400
    """MQTT 5: how long the broker keeps the session while the edge is away."""
    qos: Annotated[int, Field(ge=0, le=2)] = 1
    """Default QoS of the subscriptions: 1 is at least once, acknowledged after commit."""
    reconnect_min_s: PositiveSeconds = 1.0
    """Backoff after a lost connection, doubling up to reconnect_max_s."""
    reconnect_max_s: PositiveSeconds = 30.0
    """The backoff's cap."""

    def password(self) -> SecretStr | None:
        return read_secret(self.password_env, self.password_file)
