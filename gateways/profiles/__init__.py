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
from gateways.profiles.opcua_base import OpcUaSourceBase
from gateways.profiles.opcua_nodes import OpcUaNodesSource
from gateways.profiles.shelly import ShellySource
from gateways.profiles.sparkplug_b import SparkplugSource
from gateways.profiles.tasmota import TasmotaSource
from gateways.profiles.umati import UmatiSource

_Mqtt = (BambuSource | OctoPrintSource | MoonrakerSource | TasmotaSource | ShellySource
         | SparkplugSource | JsonSource)
MqttSource = Annotated[_Mqtt, Field(discriminator="profile")]
Source = Annotated[_Mqtt | UmatiSource | OpcUaNodesSource, Field(discriminator="profile")]
"""A machine's source: one of the profiles' models, chosen by its ``profile`` key."""


def _name(model: type) -> str:
    return str(model.model_fields["profile"].annotation.__args__[0])  # type: ignore[attr-defined]


SOURCE_MODELS: dict[str, type[MqttSourceBase]] = {
    _name(model): model
    for model in (BambuSource, OctoPrintSource, MoonrakerSource, TasmotaSource, ShellySource,
                  SparkplugSource, JsonSource)
}
"""MQTT payload profiles by name."""
OPCUA_MODELS: dict[str, type[OpcUaSourceBase]] = {
    _name(model): model for model in (UmatiSource, OpcUaNodesSource)}
PROFILE_NAMES: tuple[str, ...] = (*SOURCE_MODELS, *OPCUA_MODELS)

__all__ = ["OPCUA_MODELS", "PROFILE_NAMES", "SOURCE_MODELS", "DecodeError", "Decoder",
           "MqttSource", "OpcUaSourceBase", "PartialDecode", "Source"]
