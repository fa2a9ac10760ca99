"""Any OPC UA server: nodes named in the config, mapped to canonical signals.

Example, a node-opcua based controller of a laser cutter::

    [[machines.sources]]
    endpoint = "opc.tcp://laser-01.local:4334/UA/Laser"
    profile = "opcua"
    root = "Laser"
    nodes = [
      { path = "Tube/Temperature", signal = "chamber_temp_c" },
      { path = "Power", signal = "power_w", unit = "kW" },
      { node_id = "nsu=urn:laser:vendor;s=Job.Progress", signal = "progress_pct" },
      { path = "Status", signal = "state", states = { Cutting = "running", Ready = "idle" } },
    ]
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateways.profiles.base import Profile
from gateways.profiles.opcua_base import NodeSpec, OpcUaDecoder, OpcUaSourceBase


class OpcUaNodesSource(OpcUaSourceBase):
    profile: Literal["opcua"]
    nodes: list[NodeSpec] = Field(min_length=1)

    def node_specs(self) -> list[NodeSpec]:
        return list(self.nodes)

    def decoder(self, site: str, machine: str) -> OpcUaDecoder:
        return OpcUaDecoder(site, machine, self.nodes)


PROFILE = Profile(OpcUaNodesSource, fuzz=(("Speed", {
    "endpoint": "opc.tcp://127.0.0.1:4840",
    "nodes": [{"path": "Speed", "signal": "spindle_speed_rpm", "unit": "1/s"},
              {"path": "State", "signal": "state", "states": {"1": "running"}}]}),))
