"""Shelly plugs and relays with power metering, Gen1 and Gen2+ (Plus, Pro, Gen3, Gen4).

Gen1 (Shelly Plug S, 1PM) publishes one value per topic, as Shelly's Gen1 MQTT API
documents; ``energy`` is in watt-minutes::

    shellies/shellyplug-s-C8C9A3/relay/0/power    127.43
    shellies/shellyplug-s-C8C9A3/relay/0/energy   2923812
    shellies/shellyplug-s-C8C9A3/relay/0          on
    shellies/shellyplug-s-C8C9A3/online           false     (last will)

Gen2+ (Plus Plug S, Plus 1PM) send RPC notifications to ``<prefix>/events/rpc``, as the
Gen2 API's "Notifications" page documents (``aenergy.total`` in Wh, ``ts`` unix UTC)::

    {"src": "shellyplusplugs-e465b8b1c2d0", "dst": "shellyplusplugs-e465b8b1c2d0/events",
     "method": "NotifyStatus", "params": {"ts": 1763812800.41, "switch:0": {"id": 0,
     "apower": 127.4, "voltage": 231.2, "current": 0.601,
     "aenergy": {"total": 48731.112, "by_minute": [2121.3, 2118.0, 2120.7],
                 "minute_ts": 1763812799}}}}

and the full component status to ``<prefix>/status/switch:0`` (same fields, no ``ts``).
Subscribe to ``shellies/<id>/#`` (Gen1) or ``<prefix>/#`` (Gen2+). ``channel`` picks the
relay or switch (default 0). A relay switched off or a device that went offline marks the
machine offline when ``offline_state`` is true (default).
"""

from __future__ import annotations

from typing import Any, Literal

from contract.reading import Reading
from gateways.profiles.base import (
    DecodeError,
    PlugDecoder,
    PlugSourceBase,
    Profile,
    as_number,
    json_object,
    seconds_to_ns,
)

GEN1_VALUES = {"power": ("power_w", None), "energy": ("energy_kwh", "W * min")}
GEN2_VALUES = {"apower": ("power_w", None), "voltage": ("voltage_v", None),
               "current": ("current_a", None)}


class ShellySource(PlugSourceBase):
    profile: Literal["shelly"]

    def decoder(self, site: str, machine: str) -> ShellyDecoder:
        return ShellyDecoder(self, site, machine)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")
        return parts[1] if parts[0] == "shellies" and len(parts) > 1 else parts[0] or None


class ShellyDecoder(PlugDecoder):
    def __init__(self, source: ShellySource, site: str, machine: str) -> None:
        super().__init__(source, site, machine)
        self._relay = f"relay/{self.channel}"
        self._component = f"switch:{self.channel}"

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        text = topic.split("/")
        tail = "/".join(text[-3:])
        if topic.endswith("/events/rpc"):
            return self._notification(json_object(payload), received_ns)
        if topic.endswith(f"/status/{self._component}"):
            return self._switch(json_object(payload), received_ns)
        if text[-1] == "online":
            return self.offline(received_ns) if payload.strip() == b"false" else []
        if topic.endswith("/" + self._relay):
            return self.offline(received_ns) if payload.strip() == b"off" else []
        for key, (signal, unit) in GEN1_VALUES.items():
            if tail.endswith(f"{self._relay}/{key}"):
                value = as_number(payload.decode(errors="replace").strip(), self._relay, "/", key)
                return [self.reading(signal, value, received_ns, unit)]
        return []

    def _notification(self, message: dict[str, Any], received_ns: int) -> list[Reading]:
        if message.get("method") not in ("NotifyStatus", "NotifyFullStatus"):
            return []
        params = message.get("params")
        if not isinstance(params, dict):
            raise DecodeError("params: expected an object")
        time_ns = seconds_to_ns(params.get("ts"), received_ns, "params.ts")
        status = params.get(self._component)
        if status is None:
            return []
        if not isinstance(status, dict):
            raise DecodeError(f"params.{self._component}: expected an object")
        return self._switch(status, time_ns)

    def _switch(self, status: dict[str, Any], time_ns: int) -> list[Reading]:
        where = self._component
        readings = [self.reading(signal, as_number(status[key], where, ".", key), time_ns, unit)
                    for key, (signal, unit) in GEN2_VALUES.items() if status.get(key) is not None]
        energy = status.get("aenergy")
        if isinstance(energy, dict) and energy.get("total") is not None:
            readings.append(self.reading("energy_kwh", as_number(
                energy["total"], f"{where}.aenergy.total"), time_ns, "Wh"))
        if status.get("output") is False:
            readings += self.offline(time_ns)
        return readings


PROFILE = Profile(ShellySource, fuzz=(("shellies/p/relay/0/power", {"topic": "shellies/p/#"}),
                            ("p/events/rpc", {"topic": "p/#"})))
