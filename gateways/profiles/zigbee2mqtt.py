"""Zigbee sensors through Zigbee2MQTT: an IKEA VINDSTYRKA air quality sensor beside a
laser, a sound or CO2 sensor; Zigbee2MQTT publishes each device's state as one JSON
object on ``zigbee2mqtt/<friendly name>`` and its availability on ``.../availability``.
A VINDSTYRKA, with the properties its Zigbee2MQTT device page (E2112) exposes (the values
here are ours)::

    zigbee2mqtt/air-laser               {"humidity": 41, "linkquality": 116, "pm25": 11,
                                         "temperature": 21.4, "voc_index": 122}
    zigbee2mqtt/air-laser/availability  {"state": "offline"}

The properties Zigbee2MQTT names the same for every device are taken as they are:
``pm25``, ``pm1``, ``pm10``, ``voc_index``, ``co2``, ``temperature``, ``humidity`` (and
``noise``, dB(A)); ``fields`` maps others: ``{ tvoc = { signal = "voc_index" } }``.
Availability ``offline`` (or the legacy plain ``offline``) marks the machine offline.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.reading import Reading
from gateways.profiles.base import (
    DecoderBase,
    MqttSourceBase,
    Profile,
    SignalMapping,
    as_number,
    json_object,
)

PROPERTIES = {"pm25": "pm2_5_ugm3", "pm1": "pm1_ugm3", "pm10": "pm10_ugm3",
              "voc_index": "voc_index", "co2": "co2_ppm", "temperature": "temperature_c",
              "humidity": "humidity_pct", "noise": "sound_dba"}


class Zigbee2MqttSource(MqttSourceBase):
    profile: Literal["zigbee2mqtt"]
    fields: dict[str, SignalMapping] = Field(default_factory=dict)
    """Other properties -> where they go, over the common ones."""

    def decoder(self, site: str, machine: str) -> Zigbee2MqttDecoder:
        return Zigbee2MqttDecoder(self, site, machine)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")
        return parts[1] if len(parts) > 1 else None


class Zigbee2MqttDecoder(DecoderBase):
    def __init__(self, source: Zigbee2MqttSource, site: str, machine: str) -> None:
        super().__init__(site, machine, source.meter)
        self.fields = {**{key: (signal, None) for key, signal in PROPERTIES.items()},
                       **{key: (m.signal, m.unit) for key, m in source.fields.items()}}

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        if topic.endswith("/availability"):
            text = payload.decode(errors="replace").strip()
            state = json_object(payload).get("state") if text.startswith("{") else text
            return [self.reading("state", "offline", received_ns)] if state == "offline" else []
        document = json_object(payload)
        return [self.reading(signal, as_number(document[key], key), received_ns, unit)
                for key, (signal, unit) in self.fields.items()
                if document.get(key) is not None]


PROFILE = Profile(Zigbee2MqttSource, fuzz=(
    ("zigbee2mqtt/air-laser", {"topic": "zigbee2mqtt/air-laser/#"}),
    ("zigbee2mqtt/air-laser/availability", {"topic": "zigbee2mqtt/air-laser/#"})))
