"""Sparkplug B edge nodes and devices: ``spBv1.0/<group>/<type>/<node>[/<device>]``.

Payloads are protobuf (:mod:`gateways.profiles.sparkplug_b_payload`). A machine is an edge
node's device (``device = "mill-1"``) or the node itself (no ``device``). Subscribe to
the node's whole tree, ``spBv1.0/<group>/+/<node>/#`` (``#`` also matches the node's own
topics), so that births, deaths and every sequence number are seen. A DDATA of a CNC
router's controller, in the shape of the specification's examples (after its DBIRTH
declared the names and aliases)::

    topic   spBv1.0/atelier/DDATA/router-gw/router-1
    payload Payload{timestamp: 1763812800500, seq: 17, metrics: [
              {alias: 3, timestamp: 1763812800480, datatype: Double, double_value: 18000.0},
              {alias: 4, datatype: String, string_value: "ACTIVE"},
              {name: "Power/Active", datatype: Float, float_value: 2350.5}]}

with this source::

    [[machines.sources]]
    topic = "spBv1.0/atelier/+/router-gw/#"
    profile = "sparkplug_b"
    device = "router-1"
      [[machines.sources.metrics]]
      name = "Spindle/Speed"
      signal = "spindle_speed_rpm"
      [[machines.sources.metrics]]
      name = "Execution"
      signal = "state"
      states = { ACTIVE = "running", READY = "idle", STOPPED = "stopped", ALARM = "fault" }
      [[machines.sources.metrics]]
      name = "Power/Active"
      signal = "power_w"

Metrics named like canonical signals (``power_w``) need no mapping; others not mapped are
ignored. Rules from the specification that the decoder keeps: aliases are learnt from
BIRTH and only valid until the next; a DATA before its BIRTH is refused (counted) until
the node is reborn; ``seq`` runs 0..255 across all of a node's messages and a gap is
counted while the data is still used; NDEATH marks the node and all its devices offline,
DDEATH the device. Times: a metric's own timestamp, else the payload's, in ms.

The edge only listens: it does not send the ``Node Control/Rebirth`` command a Sparkplug
host application may send when it sees DATA before a BIRTH. With the persistent MQTT
session the broker keeps a node's births queued while the edge restarts; an edge that
starts after a node was born waits for the node's next birth (counted until then).
"""

from __future__ import annotations

from typing import Any, Literal

from google.protobuf.message import DecodeError as ProtobufDecodeError
from pydantic import Field

from contract.reading import Reading
from contract.schema import SIGNALS
from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles.base import (
    DecoderBase,
    MqttSourceBase,
    Profile,
    SignalMapping,
    canonical_state,
)
from gateways.profiles.sparkplug_b_payload import Payload, metric_value

NAMESPACE = "spBv1.0"
MESSAGE_TYPES = ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH", "NCMD", "DCMD")


class SparkplugMetric(SignalMapping):
    name: str
    """The metric's name in the device's births and data."""


class SparkplugSource(MqttSourceBase):
    profile: Literal["sparkplug_b"]
    device: str | None = None
    """The Sparkplug device id that is this machine."""
    metrics: list[SparkplugMetric] = Field(default_factory=list)

    def decoder(self, site: str, machine: str) -> SparkplugDecoder:
        return SparkplugDecoder(self, site, machine)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")
        return parts[-1] if len(parts) >= 4 and parts[0] == NAMESPACE else None


class SparkplugDecoder(DecoderBase):
    def __init__(self, source: SparkplugSource, site: str, machine: str) -> None:
        super().__init__(site, machine, source.meter)
        self._device = source.device
        self._map = {m.name: (m.signal, m.unit, m.states) for m in source.metrics}
        self._node_seq: int | None = None  # None: no NBIRTH seen since start or NDEATH
        self._aliases: dict[int, str] | None = None  # None: the machine is not born

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[2] not in MESSAGE_TYPES:
            raise DecodeError(f"not a Sparkplug B topic: expected {NAMESPACE}/<group>/"
                              f"<{'|'.join(MESSAGE_TYPES[:6])}>/<node>[/<device>]")
        kind, device = parts[2], parts[4] if len(parts) == 5 else None
        if kind in ("NCMD", "DCMD"):
            return []
        try:
            message = Payload.FromString(payload)
        except ProtobufDecodeError as exc:
            raise DecodeError(f"{kind}: not a Sparkplug B protobuf payload ({exc})") from None
        mine = device == self._device
        if kind == "NDEATH":
            self._node_seq, self._aliases = None, None
            return [self.reading("state", "offline", received_ns)]
        if kind == "DDEATH":
            if mine:
                self._aliases = None
                return [self.reading("state", "offline", received_ns)]
            return []
        gap = self._sequence(kind, message, "/".join(parts[3:]))
        if kind in ("NBIRTH", "DBIRTH"):
            if kind == "NBIRTH" and self._device is not None:
                self._aliases = None  # the node's rebirth invalidates its devices' births
            if mine:
                self._aliases = {m.alias: m.name for m in message.metrics if m.HasField("alias")}
        elif mine and self._aliases is None:
            raise DecodeError(f"{kind} from {'/'.join(parts[3:])} before its "
                              f"{kind[0]}BIRTH: ignored until the node is reborn")
        readings = self._readings(message, received_ns) if mine else []
        if gap:
            raise PartialDecode(gap, readings)
        return readings

    def _sequence(self, kind: str, message: Any, where: str) -> str | None:
        """Track the node's ``seq``; the text of a gap, if there is one."""
        seq = int(message.seq)
        expected = 0 if kind == "NBIRTH" else (
            None if self._node_seq is None else (self._node_seq + 1) % 256)
        if kind != "NBIRTH" and self._node_seq is None:
            if kind == "DBIRTH" or self._device is None:
                raise DecodeError(f"{kind} from {where} before the node's NBIRTH: ignored "
                                  "until the node is reborn")
            return None
        self._node_seq = seq
        if expected is not None and seq != expected:
            return f"{kind} from {where}: sequence gap, expected seq {expected}, got {seq}"
        return None

    def _readings(self, message: Any, received_ns: int) -> list[Reading]:
        default_ns = message.timestamp * 1_000_000 if message.HasField("timestamp") else received_ns
        readings = []
        for metric in message.metrics:
            name = metric.name if metric.HasField("name") else (self._aliases or {}).get(
                metric.alias)
            if name is None:
                raise DecodeError(f"metric alias {metric.alias} was not declared in the BIRTH")
            target = self._map.get(name) or ((name, None, None) if name in SIGNALS else None)
            value = metric_value(metric)
            if target is None or value is None:
                continue
            signal, unit, states = target
            time_ns = metric.timestamp * 1_000_000 if metric.HasField("timestamp") else default_ns
            if signal == "state":
                value = canonical_state(value, states, f"metric {name!r}")
            elif isinstance(value, str) and SIGNALS[signal].field.type != "string":
                raise DecodeError(f"metric {name!r}: expected a number, got {value!r:.30}")
            readings.append(self.reading(signal, value, time_ns, unit))
        return readings


PROFILE = Profile(SparkplugSource, fuzz=(
    ("spBv1.0/g/DDATA/n/d", {"topic": "spBv1.0/g/+/n/#", "device": "d"}),))
