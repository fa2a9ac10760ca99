"""Payload profiles: one module per device family, registered here by name.

To add a family: write ``gateways/profiles/<family>.py`` with a source model (subclass of
``MqttSourceBase`` with ``profile: Literal["<name>"]``), its decoder, a real example
payload in the docstring and a test in ``tests/profiles/`` that decodes it; then add the
model to ``SOURCE_MODELS`` and ``MqttSource`` below.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gateways.profiles.bambu import BambuSource
from gateways.profiles.base import DecodeError, Decoder, MqttSourceBase, PartialDecode
from gateways.profiles.generic_json import JsonSource
from gateways.profiles.moonraker import MoonrakerSource
from gateways.profiles.octoprint import OctoPrintSource
from gateways.profiles.shelly import ShellySource
from gateways.profiles.sparkplug_b import SparkplugSource
from gateways.profiles.tasmota import TasmotaSource

MqttSource = Annotated[
    BambuSource | OctoPrintSource | MoonrakerSource | TasmotaSource | ShellySource
    | SparkplugSource | JsonSource,
    Field(discriminator="profile"),
]
"""A machine's MQTT source: one of the profiles' models, chosen by its ``profile`` key."""

SOURCE_MODELS: dict[str, type[MqttSourceBase]] = {
    model.model_fields["profile"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (BambuSource, OctoPrintSource, MoonrakerSource, TasmotaSource, ShellySource,
                  SparkplugSource, JsonSource)
}
PROFILE_NAMES: tuple[str, ...] = tuple(SOURCE_MODELS)

__all__ = ["PROFILE_NAMES", "SOURCE_MODELS", "DecodeError", "Decoder", "MqttSource",
           "PartialDecode"]
