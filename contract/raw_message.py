"""What a gateway hands over: bytes as received, with where and when they came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class RawMessage(NamedTuple):
    route: str
    """The configured source this message belongs to (see ``MqttSourceBase.route``)."""
    topic: str
    payload: bytes
    received_ns: int
    ack: Callable[[], object] | None = None
    """Acknowledges the MQTT message to the broker; called once it is in the buffer."""
