"""Payload profiles: one module per device family, registered here by name.

To add a family: write ``gateways/profiles/<family>.py`` with a source model (subclass of
``MqttSourceBase`` with ``profile: Literal["<name>"]``), its decoder, a real example
payload in the docstring and a test that decodes it; then add the model below.
"""

from __future__ import annotations

from gateways.profiles.base import DecodeError, Decoder, MqttSourceBase
from gateways.profiles.generic_json import JsonSource

SOURCE_MODELS: tuple[type[MqttSourceBase], ...] = (JsonSource,)

PROFILE_NAMES: tuple[str, ...] = tuple(
    model.model_fields["profile"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in SOURCE_MODELS
)

MqttSource = JsonSource
"""A machine's MQTT source. With more than one profile this becomes a union of their
models, discriminated by ``profile``."""

__all__ = ["PROFILE_NAMES", "SOURCE_MODELS", "DecodeError", "Decoder", "MqttSource"]
