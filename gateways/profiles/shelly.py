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

Meters without a relay name their component otherwise. The PM Mini Gen3 (and Gen4
meters) report ``pm1:0``, with the switch's fields, in the shape the Gen2+ API's "PM1"
page documents (the values here are ours)::

    {"src": "shellypmminig3-84fce63e6c3c", "dst": "shellypmminig3-84fce63e6c3c/events",
     "method": "NotifyStatus", "params": {"ts": 1763812800.12, "pm1:0": {"id": 0,
     "voltage": 230.9, "current": 0.512, "apower": 109.6, "freq": 50.0,
     "aenergy": {"total": 3822.114, "by_minute": [1823.9, 1827.1, 1826.0],
                 "minute_ts": 1763812799}}}}

and the Pro EM's single-phase channels ``em1:0`` (``act_power`` in W) with their
counters in ``em1data:0`` (``total_act_energy`` in Wh), in the shape of its "EM1" and
"EM1Data" pages::

    {"src": "shellyproem50-08f9e0e6a1b4", "method": "NotifyStatus", "params": {
     "ts": 1763812800.55, "em1:0": {"id": 0, "current": 8.412, "voltage": 231.4,
     "act_power": 1893.2, "aprt_power": 1946.5, "pf": 0.97, "freq": 50.0}}}
    {"src": "shellyproem50-08f9e0e6a1b4", "method": "NotifyStatus", "params": {
     "ts": 1763812860.02, "em1data:0": {"id": 0, "total_act_energy": 1204519.33,
     "total_act_ret_energy": 0.0}}}

Subscribe to ``shellies/<id>/#`` (Gen1) or ``<prefix>/#`` (Gen2+). ``channel`` picks the
relay or switch (default 0). A relay switched off or a device that went offline marks the
machine offline when ``offline_state`` is true (default).
"""

from __future__ import annotations

from typing import Any, Literal

from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import (
    PlugDecoder,
    PlugSourceBase,
    Profile,
    as_number,
    json_object,
    seconds_to_ns,
)

GEN1_VALUES = {"power": ("power_w", None), "energy": ("energy_kwh", "W * min")}
GEN2_VALUES = {"apower": ("power_w", None), "act_power": ("power_w", None),
               "voltage": ("voltage_v", None), "current": ("current_a", None)}
COUNTERS = (("aenergy", "total"), ("total_act_energy", None))
"""Where a component keeps its energy counter (Wh): switch and pm1, em1data."""
COMPONENTS = ("switch", "pm1", "em1", "em1data")


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
        self._components = tuple(f"{kind}:{self.channel}" for kind in COMPONENTS)

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        text = topic.split("/")
        tail = "/".join(text[-3:])
        if topic.endswith("/events/rpc"):
            return self._notification(json_object(payload), received_ns)
        if text[-2:-1] == ["status"] and text[-1] in self._components:
            return self._switch(json_object(payload), received_ns, text[-1])
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
        readings: list[Reading] = []
        for component in self._components:
            status = params.get(component)
            if status is None:
                continue
            if not isinstance(status, dict):
                raise DecodeError(f"params.{component}: expected an object")
            readings += self._switch(status, time_ns, component)
        return readings

    def _switch(self, status: dict[str, Any], time_ns: int, where: str) -> list[Reading]:
        """A switch's, meter's or counter's status (they share their field names)."""
        readings = [self.reading(signal, as_number(status[key], where, ".", key), time_ns, unit)
                    for key, (signal, unit) in GEN2_VALUES.items() if status.get(key) is not None]
        for key, inner in COUNTERS:
            energy = status.get(key)
            if inner is not None:
                energy = energy.get(inner) if isinstance(energy, dict) else None
            if energy is not None:
                readings.append(self.reading("energy_kwh", as_number(
                    energy, where, ".", key), time_ns, "Wh"))
        if status.get("output") is False:
            readings += self.offline(time_ns)
        return readings


PROFILE = Profile(ShellySource, fuzz=(("shellies/p/relay/0/power", {"topic": "shellies/p/#"}),
                            ("p/events/rpc", {"topic": "p/#"})))
