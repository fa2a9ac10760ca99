"""Tasmota smart plugs and energy meters: ``tele/<topic>/SENSOR``, ``STATE`` and ``LWT``.

Telemetry as Tasmota's documentation shows it for a plug with energy monitoring
(``TelePeriod`` 10; a Nous A1T in front of a printer)::

    tele/plug-mk4-01/SENSOR  {"Time":"2025-11-22T13:00:00","ENERGY":{
        "TotalStartTime":"2025-03-02T09:12:44","Total":48.731,"Yesterday":1.204,
        "Today":0.512,"Period":3,"Power":127,"ApparentPower":139,"ReactivePower":56,
        "Factor":0.91,"Voltage":231,"Current":0.601}}
    tele/plug-mk4-01/STATE   {"Time":"2025-11-22T13:00:00","Uptime":"3T02:11:09",
        "POWER":"ON","Wifi":{"RSSI":74}}
    tele/plug-mk4-01/LWT     Offline

Subscribe to ``tele/<topic>/+``. ``ENERGY.Total`` (kWh, cumulative) -> ``energy_kwh``,
``Power`` (W) -> ``power_w``, ``Voltage`` -> ``voltage_v``, ``Current`` (A) ->
``current_a``; multi-channel devices send lists: ``channel`` picks one (default 0).
``Time`` is local time without a zone and whole seconds, so arrival time is used.
With ``offline_state`` (default true) the LWT ``Offline`` and ``POWER`` OFF mark the
machine behind the plug offline; set it false when the machine has its own status source.
"""

from __future__ import annotations

from typing import Any, Literal

from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import PlugDecoder, PlugSourceBase, Profile, as_number, json_object

ENERGY_FIELDS = {"Total": "energy_kwh", "Power": "power_w", "Voltage": "voltage_v",
                 "Current": "current_a"}


class TasmotaSource(PlugSourceBase):
    profile: Literal["tasmota"]

    def decoder(self, site: str, machine: str) -> TasmotaDecoder:
        return TasmotaDecoder(self, site, machine)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")
        return parts[1] if len(parts) == 3 else None


class TasmotaDecoder(PlugDecoder):
    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        kind = topic.rsplit("/", 1)[-1]
        if kind == "LWT":
            online = payload.decode(errors="replace").strip()
            if online not in ("Online", "Offline"):
                raise DecodeError(f"LWT: expected Online or Offline, got {online!r:.30}")
            return self.offline(received_ns) if online == "Offline" else []
        if kind == "STATE":
            status = json_object(payload)
            power = status.get("POWER", status.get(f"POWER{self.channel + 1}"))
            return self.offline(received_ns) if power == "OFF" else []
        if kind != "SENSOR":
            return []
        energy = json_object(payload).get("ENERGY")
        if energy is None:
            return []
        if not isinstance(energy, dict):
            raise DecodeError(f"ENERGY: expected an object, got {type(energy).__name__}")
        readings = [
            self.reading(signal, as_number(self._pick(energy[key], key), "ENERGY.", key),
                         received_ns)
            for key, signal in ENERGY_FIELDS.items()
            if energy.get(key) is not None
        ]
        if not readings:
            raise DecodeError("ENERGY: none of Total, Power, Voltage, Current")
        return readings

    def _pick(self, value: Any, key: str) -> Any:
        if isinstance(value, list):
            if self.channel >= len(value):
                raise DecodeError(f"ENERGY.{key}: no channel {self.channel} in {value!r:.40}")
            return value[self.channel]
        return value


PROFILE = Profile(TasmotaSource, fuzz=(("tele/p/SENSOR", {"topic": "tele/p/+"}),
                            ("tele/p/LWT", {"topic": "tele/p/+"})))
