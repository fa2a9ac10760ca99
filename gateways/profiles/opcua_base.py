"""What OPC UA sources share: the endpoint, how to reach it (subscription or polling,
security, credentials) and which nodes feed which signals.

Nodes are named by browse path relative to the machine's root (``Monitoring/Spindle/
ActualSpeed``, matched by browse name, whatever the namespace index) or by node id with
the namespace URI (``nsu=http://example.com/UA/;s=Spindle.Speed``): namespace indexes
move when a server restarts or is updated, URIs and names do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from contract.addresses import OpcUaUrl
from contract.counters import Counters
from contract.model import StrictModel
from contract.reading import Reading
from contract.schema import SIGNALS
from gateways.profiles.base import DecoderBase, SignalMapping, ValueSourceBase, canonical_state

if TYPE_CHECKING:
    from gateways.gateway import Gateway, ValueDecoder


class OpcUaSecurity(StrictModel):
    policy: Literal["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"] = (
        "Basic256Sha256")
    """The OPC UA security policy."""
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    """Sign, or SignAndEncrypt."""
    certificate: Path
    """This client's certificate (DER or PEM); ``circlemade opcua make-cert`` makes one."""
    private_key: Path
    """This client's private key."""
    trust_dir: Path
    """Server certificates (or their CAs) this client trusts; others are refused."""


class NodeSpec(SignalMapping):
    path: str | None = None
    """Browse path from the machine's root, e.g. ``Monitoring/Spindle/ActualSpeed``."""
    node_id: str | None = None
    """Or a node id with its namespace URI, e.g. ``nsu=urn:vendor;s=Speed``."""

    @model_validator(mode="after")
    def _one_address(self) -> NodeSpec:
        if (self.path is None) == (self.node_id is None):
            raise ValueError("give either path (browse path from the root) or node_id")
        return self

    @property
    def key(self) -> str:
        return self.path or self.node_id or ""


class OpcUaSourceBase(ValueSourceBase):
    transport: ClassVar[str] = "opcua"
    endpoint: OpcUaUrl
    """The server, e.g. ``opc.tcp://10.0.0.12:4840``."""
    root: str = ""
    """Browse path from Objects to the machine's root node; ``*`` matches the first child."""
    mode: Literal["subscribe", "poll"] = "subscribe"
    """subscribe (the server sends changes) or poll (read every poll_interval_s)."""
    sampling_interval_ms: float = Field(default=500, ge=0)
    """How often the server samples each node (subscriptions)."""
    publishing_interval_ms: float = Field(default=1000, gt=0)
    """How often the server sends what changed (subscriptions)."""
    deadband: float = Field(default=0.0, ge=0)
    """Absolute deadband for numeric nodes (subscriptions only): smaller changes are not sent."""
    poll_interval_s: float = Field(default=1.0, gt=0)
    """mode = "poll": how often all nodes are read."""
    heartbeat_s: float = Field(default=5.0, gt=0)
    """How often the server's clock is read; no answer within timeout_s means reconnect."""
    timeout_s: float = Field(default=5.0, gt=0)
    """Per request; no answer means reconnect."""
    reconnect_min_s: float = Field(default=1.0, gt=0)
    """Backoff after a lost connection, doubling up to reconnect_max_s."""
    reconnect_max_s: float = Field(default=10.0, gt=0)
    """The backoff's cap."""
    security: OpcUaSecurity | None = None
    username: str | None = None
    """Login, with the password from password_env or password_file."""
    password_env: str | None = None
    """Environment variable holding the password."""
    password_file: Path | None = None
    """File holding the password."""

    def node_specs(self) -> list[NodeSpec]:
        raise NotImplementedError

    def secrets(self) -> list[tuple[str, str | None, Path | None]]:
        return [("password", self.password_env, self.password_file)]

    def decoder(self, site: str, machine: str) -> OpcUaDecoder:
        raise NotImplementedError

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        # imported on use: asyncua and its cryptography are 20 MB of RSS that an
        # MQTT-only workshop should not carry
        from gateways.transports.opcua import OpcUaGateway

        assert isinstance(decoder, OpcUaDecoder)
        return OpcUaGateway(self, route, decoder, counters)


class OpcUaDecoder(DecoderBase):
    """Values of named nodes -> readings; plain mapping unless a profile needs more."""

    def __init__(self, site: str, machine: str, specs: list[NodeSpec]) -> None:
        super().__init__(site, machine)
        self.specs = {spec.key: spec for spec in specs}

    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        spec = self.specs[key]
        if spec.signal == "state":
            return [self.reading("state", canonical_state(value, spec.states, key), time_ns)]
        if SIGNALS[spec.signal].field.type == "string":
            return [self.reading(spec.signal, str(value), time_ns)]
        if isinstance(value, bool | int | float):
            return [self.reading(spec.signal, float(value), time_ns, spec.unit)]
        raise ValueError(f"{key}: expected a number, got {type(value).__name__} {value!r:.30}")

    def offline(self, time_ns: int) -> list[Reading]:
        return [self.reading("state", "offline", time_ns)]
