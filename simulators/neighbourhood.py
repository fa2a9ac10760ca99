"""Simulated sensors for the neighbours (docs/metrics.md, neighbours): a sound level
meter on the façade, on ESPHome's state topics, whose level follows what the machines
draw (a quiet street, louder while a machine cuts or mills); and an air sensor beside a
printer through Zigbee2MQTT (an IKEA VINDSTYRKA), whose PM2.5 and VOC index rise while
it prints. Each publishes once a minute, as those devices are set up to."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import orjson

from simulators.mqtt_publisher import Message

EVERY_S = 60.0
STREET_DB = 44.0


class FacadeMicrophone:
    """The A-weighted level at the façade: the street, plus each machine's noise, which
    grows with the power it draws (a sum of energies, as sound adds)."""

    profile = "esphome"

    def __init__(self, prefix: str, loads_w: Callable[[], list[float]], seed: int) -> None:
        self.prefix, self.loads_w = prefix, loads_w
        self._rng, self._next = random.Random(seed), 0.0

    def source(self) -> dict[str, Any]:
        return {"topic": f"{self.prefix}/#", "profile": "esphome",
                "sensors": {"laeq_1min": {"signal": "sound_dba"}}}

    def level(self) -> float:
        energy = 10 ** (STREET_DB / 10) + sum(
            10 ** ((30 + 10 * math.log10(1 + load / 10)) / 10) for load in self.loads_w())
        return round(10 * math.log10(energy) + self._rng.gauss(0, 0.5), 2)

    def messages(self, now_s: float) -> list[Message]:
        if now_s < self._next:
            return []
        self._next = now_s + EVERY_S
        return [(f"{self.prefix}/sensor/laeq_1min/state", f"{self.level():.2f}".encode(),
                 False)]


class AirBeside:
    """PM2.5 and VOC index beside a machine: a clean room, more while it works."""

    profile = "zigbee2mqtt"

    def __init__(self, name: str, load_w: Callable[[], float], seed: int) -> None:
        self.name, self.load_w = name, load_w
        self._rng, self._next = random.Random(seed), 0.0

    def source(self) -> dict[str, Any]:
        return {"topic": f"zigbee2mqtt/{self.name}/#", "profile": "zigbee2mqtt"}

    def messages(self, now_s: float) -> list[Message]:
        if now_s < self._next:
            return []
        self._next = now_s + EVERY_S
        working = self.load_w() > 100  # heating or printing
        return [(f"zigbee2mqtt/{self.name}", orjson.dumps({
            "pm25": round((24.0 if working else 6.0) + self._rng.uniform(-2, 2)),
            "voc_index": round((190 if working else 100) + self._rng.uniform(-8, 8)),
            "temperature": 21.5, "humidity": 44, "linkquality": 120}), False)]


def sensors_around(machines: list[tuple[str, str, Any]], seed: int,
                   ) -> list[tuple[str, FacadeMicrophone | AirBeside]]:
    """A microphone on the façade hearing every machine (id, kind, physics), and an air
    sensor beside the first printer: (sensor id, device)."""
    found: list[tuple[str, FacadeMicrophone | AirBeside]] = [("facade", FacadeMicrophone(
        "facade-noise", lambda: [float(physics.load_w) for _, _, physics in machines], seed))]
    printer = next((m for m in machines if m[1] == "printer"), None)
    if printer is not None:
        physics = printer[2]
        found.append((f"air-{printer[0]}", AirBeside(
            f"air-{printer[0]}", lambda: float(physics.load_w), seed)))
    return found
