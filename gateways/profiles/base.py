"""What every payload profile provides: a source model for the config and a decoder.

A profile module holds, side by side, the pydantic model of its part of the config (a
subclass of :class:`MqttSourceBase` whose ``profile`` field is a Literal of its name), the
decoder that turns one message into readings, and a docstring with a real payload.
"""

from __future__ import annotations

import re
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from edge.reading import Reading
from gateways.mqtt_topic import check_topic_filter

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
"""Ids of sites, machines, meters and brokers: they become InfluxDB tags."""

TopicFilter = Annotated[str, AfterValidator(check_topic_filter)]

_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


class DecodeError(ValueError):
    """A message that does not fit its profile. The text says what was expected."""


class Decoder(Protocol):
    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        """Readings of one message; raises :class:`DecodeError` on a bad payload."""
        ...


class StrictModel(BaseModel):
    """Config models reject unknown keys, so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSourceBase(StrictModel):
    """An MQTT subscription that feeds one machine, decoded by one profile."""

    broker: Identifier = "main"
    topic: TopicFilter
    qos: Annotated[int, Field(ge=0, le=2)] | None = None
    meter: Identifier | None = None
    """Meter id for energy readings (the ``meter`` tag); the machine id when not given."""

    def decoder(self, site: str, machine: str) -> Decoder:
        raise NotImplementedError(f"profile {type(self).__name__} has no decoder")
