"""A Sparkplug B edge node with one device: a CNC controller's gateway.

Publishes NBIRTH (with ``bdSeq``) and DBIRTH declaring names, aliases and data types,
then DDATA by alias with the node's ``seq`` running 0..255, and leaves an NDEATH as its
MQTT will, as the Sparkplug 3.0 specification asks of an edge node.
"""

from __future__ import annotations

from typing import Any

from gateways.profiles.sparkplug_b_payload import DOUBLE, FLOAT, STRING, UINT64, Payload, add_metric
from simulators.cnc import SimulatedCnc
from simulators.mqtt_publisher import Message

METRICS = [  # name, alias, datatype, signal
    ("Spindle/Speed", 1, DOUBLE, "spindle_speed_rpm"),
    ("Execution", 2, STRING, "state"),
    ("Feed/Override", 3, FLOAT, "feed_override_pct"),
    ("Power/Active", 4, FLOAT, "power_w"),
]
JOB_METRICS = [  # sent when a program starts or ends: name, alias, signal
    ("Job/Program", 5, "job_name"), ("Job/Event", 6, "job_event"),
    ("Job/Outcome", 7, "job_outcome"),
]
OUTCOMES = {"Ended": "good", "Aborted": "aborted"}
EXECUTION_STATES = {"ACTIVE": "running", "READY": "idle", "STOPPED": "stopped", "ALARM": "fault"}


class SparkplugCncNode:
    profile = "sparkplug_b"

    def __init__(self, cnc: SimulatedCnc, group: str, node: str, device: str) -> None:
        self.cnc, self.group, self.node, self.device = cnc, group, node, device
        self._seq = -1
        self._born = False
        self._bd_seq = 0
        self._program_state = cnc.program_state

    def topic(self, kind: str, device: bool = True) -> str:
        tail = f"/{self.device}" if device else ""
        return f"spBv1.0/{self.group}/{kind}/{self.node}{tail}"

    def source(self) -> dict[str, Any]:
        return {"topic": f"spBv1.0/{self.group}/+/{self.node}/#", "profile": "sparkplug_b",
                "device": self.device, "metrics": [
                    {"name": name, "signal": signal,
                     **({"states": EXECUTION_STATES} if signal == "state" else {})}
                    for name, _, _, signal in METRICS] + [
                    {"name": name, "signal": signal} for name, _, signal in JOB_METRICS]}

    def will(self) -> tuple[str, bytes]:
        death = Payload()
        add_metric(death, "bdSeq", self._bd_seq, UINT64)
        return self.topic("NDEATH", device=False), bytes(death.SerializeToString())

    def _values(self) -> list[float | str]:
        c = self.cnc
        return [round(c.spindle_rpm, 1), c.execution, c.feed_override_pct, round(c.load_w, 1)]

    def _payload(self, now_s: float) -> Any:
        self._seq = (self._seq + 1) % 256
        return Payload(timestamp=int(now_s * 1000), seq=self._seq)

    def birth(self, now_s: float) -> list[Message]:
        self._seq = -1
        node = self._payload(now_s)
        add_metric(node, "bdSeq", self._bd_seq, UINT64)
        device = self._payload(now_s)
        for (name, alias, datatype, _), value in zip(METRICS, self._values(), strict=True):
            add_metric(device, name, value, datatype, alias=alias)
        for name, alias, _ in JOB_METRICS:  # declared for their aliases, no value yet
            add_metric(device, name, "", STRING, alias=alias)
            device.metrics[-1].is_null = True
        self._born = True
        return [(self.topic("NBIRTH", device=False), bytes(node.SerializeToString()), False),
                (self.topic("DBIRTH"), bytes(device.SerializeToString()), False)]

    def messages(self, now_s: float) -> list[Message]:
        if not self._born:
            return self.birth(now_s)
        data = self._payload(now_s)
        for (_, alias, datatype, _), value in zip(METRICS, self._values(), strict=True):
            add_metric(data, None, value, datatype, alias=alias)
        state = self.cnc.program_state
        if state != self._program_state:  # a program started or ended
            self._program_state = state
            job = {"job_name": self.cnc.program,
                   "job_event": "start" if state == "Running" else "end",
                   "job_outcome": OUTCOMES.get(state, "")}
            for _, alias, signal in JOB_METRICS:
                if job[signal]:
                    add_metric(data, None, job[signal], STRING, alias=alias)
        return [(self.topic("DDATA"), bytes(data.SerializeToString()), False)]
