"""A simulated energy meter (smart plug) in front of a machine, published as a Tasmota
plug, a Shelly Gen1 plug or a Shelly Gen2+ plug.

Power follows the machine's load (idle, heating, printing, cutting) with a little noise;
the cumulative counter can wrap (``wrap_wh``) or restart at zero after a power cut
(``reset_after_s``), as cheap plugs do, so the edge's energy handling can be tested.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from simulators.mqtt_publisher import Message


class SimulatedMeter:
    def __init__(self, meter: str, load_w: Callable[[], float], seed: int = 2,
                 wrap_wh: float | None = None, reset_after_s: float | None = None) -> None:
        self.meter, self._load = meter, load_w
        self._rng = random.Random(seed)
        self.counter_wh = 0.0
        self.power_w = 0.0
        self.voltage_v = 230.0
        self.elapsed_s = 0.0
        self._wrap_wh, self._reset_after_s = wrap_wh, reset_after_s

    @property
    def current_a(self) -> float:
        return round(self.power_w / self.voltage_v, 3)

    def step(self, dt_s: float) -> None:
        self.elapsed_s += dt_s
        self.power_w = round(max(0.0, self._load() * self._rng.uniform(0.97, 1.03)), 1)
        self.voltage_v = round(230 + self._rng.gauss(0, 1.2), 1)
        self.counter_wh += self.power_w * dt_s / 3600
        if self._wrap_wh is not None and self.counter_wh >= self._wrap_wh:
            self.counter_wh -= self._wrap_wh
        if self._reset_after_s is not None and self.elapsed_s >= self._reset_after_s:
            self.counter_wh, self._reset_after_s = 0.0, None  # a power cut, once


class TasmotaPlug:
    profile = "tasmota"

    def __init__(self, meter: SimulatedMeter, topic: str) -> None:
        self.meter, self.topic = meter, topic
        self._seq = 0

    def source(self) -> dict[str, Any]:
        return {"topic": f"tele/{self.topic}/+", "profile": "tasmota", "meter": self.meter.meter,
                "offline_state": False}

    def birth(self) -> list[Message]:
        return [(f"tele/{self.topic}/LWT", b"Online", True)]

    def messages(self, now_s: float) -> list[Message]:
        m = self.meter
        self._seq += 1
        stamp = datetime.fromtimestamp(now_s).strftime("%Y-%m-%dT%H:%M:%S")
        energy = {"TotalStartTime": "2025-03-02T09:12:44", "Total": round(m.counter_wh / 1000, 3),
                  "Yesterday": 0.0, "Today": round(m.counter_wh / 1000, 3), "Period": 0,
                  "Power": round(m.power_w), "ApparentPower": round(m.power_w * 1.08),
                  "ReactivePower": round(m.power_w * 0.4), "Factor": 0.92,
                  "Voltage": round(m.voltage_v), "Current": m.current_a}
        out: list[Message] = [(f"tele/{self.topic}/SENSOR", orjson.dumps(
            {"Time": stamp, "ENERGY": energy, "sim_seq": self._seq}), False)]
        if self._seq % 10 == 1:
            out.append((f"tele/{self.topic}/STATE", orjson.dumps(
                {"Time": stamp, "POWER": "ON", "sim_seq": self._seq}), False))
        return out


class ShellyGen1Plug:
    profile = "shelly"

    def __init__(self, meter: SimulatedMeter, device_id: str) -> None:
        self.meter, self.base = meter, f"shellies/{device_id}"

    def source(self) -> dict[str, Any]:
        return {"topic": f"{self.base}/#", "profile": "shelly", "meter": self.meter.meter,
                "offline_state": False}

    def birth(self) -> list[Message]:
        return [(f"{self.base}/online", b"true", True)]

    def messages(self, now_s: float) -> list[Message]:
        m = self.meter
        return [(f"{self.base}/relay/0/power", f"{m.power_w:.2f}".encode(), False),
                (f"{self.base}/relay/0/energy", str(int(m.counter_wh * 60)).encode(), False)]


class ShellyGen2Plug:
    profile = "shelly"

    def __init__(self, meter: SimulatedMeter, device_id: str) -> None:
        self.meter, self.device_id = meter, device_id
        self._seq = 0

    def source(self) -> dict[str, Any]:
        return {"topic": f"{self.device_id}/#", "profile": "shelly", "meter": self.meter.meter,
                "offline_state": False}

    def birth(self) -> list[Message]:
        return [(f"{self.device_id}/online", b"true", True)]

    def messages(self, now_s: float) -> list[Message]:
        m = self.meter
        self._seq += 1
        switch = {"id": 0, "apower": m.power_w, "voltage": m.voltage_v, "current": m.current_a,
                  "aenergy": {"total": round(m.counter_wh, 3), "by_minute": [0.0, 0.0, 0.0],
                              "minute_ts": int(now_s)}}
        body = {"src": self.device_id, "dst": f"{self.device_id}/events",
                "method": "NotifyStatus", "params": {"ts": round(now_s, 2), "switch:0": switch},
                "sim_seq": self._seq}
        return [(f"{self.device_id}/events/rpc", orjson.dumps(body), False)]
