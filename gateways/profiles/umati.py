"""Machine tools shaped after umati (OPC 40501 Machine Tools on OPC 40001-1 Machinery):
the endpoint is all the config needs.

Read relative to the machine's root (by default the first machine under
``Objects/Machines``), by browse name::

    MachineryItemState/CurrentState        Executing -> running, NotExecuting -> idle,
                                           OutOfService -> maintenance, NotAvailable -> offline
    Notifications/AlarmActive              true -> fault (over the item state)
    Monitoring/Spindle/ActualSpeed         spindle_speed_rpm
    Monitoring/Spindle/Override            spindle_override_pct
    Monitoring/Channel1/FeedOverride       feed_override_pct
    Monitoring/MachineTool/ElectricalPower power_w
    Monitoring/MachineTool/PowerOnDuration power_on_h: the machine's own hours powered on
                                           (for a component's ``device_signal``; the
                                           path as DMG MORI's clight connector lists
                                           it, github.com/Vunnupyx/clight,
                                           client/src/app/services/constants/
                                           opcuaDataItems.ts; not from a capture)
    Production/ActiveProgram/Name, State   jobs: Running starts one; Ended ends it good (scrap
                                           when PartsScrap rose meanwhile), Aborted aborted
    Production/Counters/PartsProduced, PartsGood, PartsScrap   parts_produced, _good, _scrap

Nodes a machine does not have are skipped (and logged once), never fatal.
"""

from __future__ import annotations

from typing import Any, Literal

from contract.reading import Reading
from gateways.profiles.base import Profile
from gateways.profiles.opcua_base import NodeSpec, OpcUaDecoder, OpcUaSourceBase

ITEM_STATES = {"Executing": "running", "NotExecuting": "idle", "OutOfService": "maintenance",
               "NotAvailable": "offline"}
ITEM_STATE = "MachineryItemState/CurrentState"
ALARM = "Notifications/AlarmActive"
PROGRAM = "Production/ActiveProgram/Name"
PROGRAM_STATE = "Production/ActiveProgram/State"
SCRAP = "Production/Counters/PartsScrap"

NODES = [
    NodeSpec(path=ITEM_STATE, signal="state"),
    NodeSpec(path=ALARM, signal="state"),
    NodeSpec(path="Monitoring/Spindle/ActualSpeed", signal="spindle_speed_rpm"),
    NodeSpec(path="Monitoring/Spindle/Override", signal="spindle_override_pct"),
    NodeSpec(path="Monitoring/Channel1/FeedOverride", signal="feed_override_pct"),
    NodeSpec(path="Monitoring/MachineTool/ElectricalPower", signal="power_w"),
    NodeSpec(path="Monitoring/MachineTool/PowerOnDuration", signal="power_on_h"),
    NodeSpec(path=PROGRAM, signal="job_name"),
    NodeSpec(path=PROGRAM_STATE, signal="job_event"),
    NodeSpec(path="Production/Counters/PartsProduced", signal="parts_produced"),
    NodeSpec(path="Production/Counters/PartsGood", signal="parts_good"),
    NodeSpec(path=SCRAP, signal="parts_scrap"),
]


class UmatiSource(OpcUaSourceBase):
    profile: Literal["umati"]
    root: str = "Machines/*"
    """Browse path from Objects to the machine (``*``: the first one)."""

    def node_specs(self) -> list[NodeSpec]:
        return list(NODES)

    def decoder(self, site: str, machine: str) -> UmatiDecoder:
        return UmatiDecoder(site, machine, NODES)


class UmatiDecoder(OpcUaDecoder):
    def __init__(self, site: str, machine: str, specs: list[NodeSpec]) -> None:
        super().__init__(site, machine, specs)
        self.item_state = "idle"
        self.alarm = False
        self.program = ""
        self.scrap = 0.0
        self.scrap_at_start = 0.0

    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        if key == ITEM_STATE:
            self.item_state = ITEM_STATES.get(str(value), "idle")
            return [self._state(time_ns)]
        if key == ALARM:
            self.alarm = bool(value)
            return [self._state(time_ns)]
        if key == PROGRAM:
            self.program = str(value)
            return []
        if key == PROGRAM_STATE:
            scrap = self.scrap > self.scrap_at_start
            outcome = {"Ended": "scrap" if scrap else "good", "Aborted": "aborted"}.get(str(value))
            events = self.job_transition(str(value) == "Running", outcome, self.program, time_ns)
            if events and str(value) == "Running":
                self.scrap_at_start = self.scrap
            return events
        readings = super().decode_value(key, value, time_ns)
        if key == SCRAP:
            self.scrap = float(value)
        return readings

    def _state(self, time_ns: int) -> Reading:
        return self.reading("state", "fault" if self.alarm else self.item_state, time_ns)


PROFILE = Profile(UmatiSource, fuzz=tuple(
    (key, {"endpoint": "opc.tcp://127.0.0.1:4840"})
    for key in (ITEM_STATE, ALARM, PROGRAM, PROGRAM_STATE, SCRAP,
                "Monitoring/Spindle/ActualSpeed")))
