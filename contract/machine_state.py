"""Canonical machine states and how they map onto umati's MachineryItemState (OPC 40001-1).

| state       | code | MachineryItemState                         |
|-------------|------|--------------------------------------------|
| offline     | 0    | NotAvailable                               |
| stopped     | 1    | NotExecuting (unplanned or end of shift)   |
| idle        | 2    | NotExecuting (planned: ready, waiting)     |
| running     | 3    | Executing                                  |
| fault       | 4    | NotExecuting, unplanned-stop reason        |
| maintenance | 5    | OutOfService                               |

The numeric code is stored next to the name so that Grafana can draw a state timeline
and compute shares without string handling.
"""

from __future__ import annotations

from enum import StrEnum


class MachineState(StrEnum):
    OFFLINE = "offline"
    STOPPED = "stopped"
    IDLE = "idle"
    RUNNING = "running"
    FAULT = "fault"
    MAINTENANCE = "maintenance"

    @property
    def code(self) -> int:
        return STATE_CODES[self]


STATE_CODES: dict[MachineState, int] = {state: code for code, state in enumerate(MachineState)}
