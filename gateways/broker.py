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
    host: str = "127.0.0.1"
    port: Port = 1883
    client_id: str | None = None
    """Stable client id for the persistent session; ``circlemade-<site>-<broker>`` if unset."""
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    """CA bundle that signed the broker's certificate; the system's CAs when unset."""
    cert_file: Path | None = None
    key_file: Path | None = None
    """Client certificate and key, for brokers that require one."""
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    mqtt_version: Literal["3.1.1", "5"] = "3.1.1"
    """3.1.1 by default: paho builds a Properties object per MQTT 5 message, which cut
    end-to-end ingest from 8,000 to 5,800 msg/s (bench/README.md, history)."""
    session_expiry_s: Annotated[int, Field(ge=0)] = 86400
    qos: Annotated[int, Field(ge=0, le=2)] = 1
    reconnect_min_s: PositiveSeconds = 1.0
    reconnect_max_s: PositiveSeconds = 30.0

    def password(self) -> SecretStr | None:
        return read_secret(self.password_env, self.password_file)
