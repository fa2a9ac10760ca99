"""ESPHome devices over MQTT: a sound level meter on the façade (an I2S microphone with
the esphome-sound-level-meter component, A-weighted Leq per interval), a Sensirion SEN5x
air board, anything with sensors. ESPHome publishes each sensor's value as plain text
on its state topic and the device's availability on ``<prefix>/status``, as its MQTT
client documentation describes (the values here are ours)::

    facade-noise/sensor/laeq_1min/state     57.31
    facade-noise/sensor/lamax_1min/state    71.02
    facade-noise/status                     online
    air-laser/sensor/pm_2_5/state           12.4
    air-laser/sensor/voc_index/state        131

``sensors`` maps each sensor's object id (its name, lower case, spaces as ``_``) to a
canonical signal: ``{ laeq_1min = { signal = "sound_dba" } }``; sensors not mapped are
ignored. Subscribe to ``<prefix>/#``. ``offline`` on the status topic (the last will)
marks the machine offline; ``nan`` (a sensor with no value yet) is skipped.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from contract.reading import Reading
from gateways.profiles.base import DecoderBase, MqttSourceBase, Profile, SignalMapping, as_number


class EsphomeSource(MqttSourceBase):
    profile: Literal["esphome"]
    sensors: dict[str, SignalMapping] = Field(min_length=1)
    """Object id -> where its value goes, e.g. ``{ laeq_1min = { signal = "sound_dba" } }``."""

    def decoder(self, site: str, machine: str) -> EsphomeDecoder:
        return EsphomeDecoder(self, site, machine)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        return topic.split("/")[0] or None


class EsphomeDecoder(DecoderBase):
    def __init__(self, source: EsphomeSource, site: str, machine: str) -> None:
        super().__init__(site, machine, source.meter)
        self.sensors = {name: (m.signal, m.unit) for name, m in source.sensors.items()}

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        parts = topic.split("/")
        text = payload.decode(errors="replace").strip()
        if parts[-1] == "status":
            return [self.reading("state", "offline", received_ns)] if text == "offline" else []
        if len(parts) < 4 or parts[-3] != "sensor" or parts[-1] != "state":
            return []
        mapped = self.sensors.get(parts[-2])
        if mapped is None:
            return []
        value = as_number(text, parts[-2])
        if math.isnan(value):
            return []
        return [self.reading(mapped[0], value, received_ns, mapped[1])]


PROFILE = Profile(EsphomeSource, fuzz=(
    ("facade-noise/sensor/laeq_1min/state", {
        "topic": "facade-noise/#", "sensors": {"laeq_1min": {"signal": "sound_dba"}}}),))
