"""Bambu Lab printers (X1, P1, A1) over their local MQTT broker: ``device/<serial>/report``.

Shape of a report, as documented by the community reverse-engineering in OpenBambuAPI
(``mqtt.md``, "push_status") and seen in ha-bambulab's captures; an X1C mid-print::

    {"print": {"command": "push_status", "msg": 0, "sequence_id": "24175",
      "gcode_state": "RUNNING", "mc_print_stage": "2", "mc_percent": 37,
      "mc_remaining_time": 52, "layer_num": 61, "total_layer_num": 164,
      "nozzle_temper": 219.96875, "nozzle_target_temper": 220,
      "bed_temper": 54.96875, "bed_target_temper": 55, "chamber_temper": 31,
      "subtask_name": "hinge-bracket_PLA", "gcode_file": "/data/Metadata/plate_1.gcode",
      "print_error": 0, "wifi_signal": "-48dBm", "spd_lvl": 2}}

P1 and A1 printers send only what changed (``{"print": {"nozzle_temper": 220.1,
"command": "push_status", "msg": 1, "sequence_id": "24176"}}``), so the decoder keeps,
per printer, the last value of the few keys a later report needs (the job's name and
error) and emits the fields each message carries. Reports have no
timestamp: arrival time is used. Other report types (``info``, ``system``, ``mc_print``
responses) carry no telemetry and yield nothing.

``gcode_state`` -> canonical state (umati MachineryItemState in brackets):
IDLE, FINISH -> idle (NotExecuting); PREPARE, SLICING, RUNNING -> running (Executing);
PAUSE -> stopped (NotExecuting); FAILED -> fault (NotExecuting, unplanned);
OFFLINE -> offline (NotAvailable).

Jobs: entering PREPARE/RUNNING starts one (named by ``subtask_name``); FINISH ends it
good, FAILED ends it as scrap, or aborted when ``print_error`` is 50348044 (0x0300400C,
"task cancelled by the user"). ``mc_remaining_time`` is in minutes.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from contract.reading import Reading
from gateways.profiles.base import (
    DecodeError,
    DecoderBase,
    DeviceRequest,
    MqttSourceBase,
    Profile,
    as_number,
    json_object,
)

STATES = {"IDLE": "idle", "FINISH": "idle", "PREPARE": "running", "SLICING": "running",
          "RUNNING": "running", "PAUSE": "stopped", "FAILED": "fault", "OFFLINE": "offline"}
ACTIVE = {"PREPARE", "SLICING", "RUNNING", "PAUSE"}
CANCELLED_BY_USER = 50348044
REMEMBERED = ("subtask_name", "gcode_file", "print_error")
"""What a later partial report needs from earlier ones; nothing else is kept, so a
printer (or a broken one) sending new keys cannot grow the edge's memory."""

FIELDS = {  # report key -> (signal, unit the printer sends)
    "mc_percent": ("progress_pct", None),
    "mc_remaining_time": ("remaining_time_s", "min"),
    "layer_num": ("layer", None),
    "total_layer_num": ("total_layers", None),
    "nozzle_temper": ("nozzle_temp_c", None),
    "nozzle_target_temper": ("nozzle_target_c", None),
    "bed_temper": ("bed_temp_c", None),
    "bed_target_temper": ("bed_target_c", None),
    "chamber_temper": ("chamber_temp_c", None),
}


class BambuSource(MqttSourceBase):
    profile: Literal["bambu"]
    pushall: bool = True
    """Ask for a full report on each connection and then every 5 minutes (P1 and A1
    printers otherwise send only what changed; asking more often loads them). Needs the
    topic to name the printer: ``device/<serial>/report``."""

    def requests(self) -> list[DeviceRequest]:
        parts = self.topic.split("/")
        if not self.pushall or len(parts) != 3 or parts[2] != "report" or parts[1] in "+#":
            return []
        return [DeviceRequest(f"device/{parts[1]}/request", PUSHALL, PUSHALL_EVERY_S)]

    def decoder(self, site: str, machine: str) -> BambuDecoder:
        return BambuDecoder(site, machine, self.meter)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")
        return parts[1] if len(parts) == 3 and parts[0] == "device" else None


PUSHALL = orjson.dumps({"pushing": {"sequence_id": "0", "command": "pushall", "version": 1,
                                    "push_target": 1}})
"""The full-report request (OpenBambuAPI, mqtt.md, "pushall")."""
PUSHALL_EVERY_S = 300.0


class BambuDecoder(DecoderBase):
    def __init__(self, site: str, machine: str, meter: str | None) -> None:
        super().__init__(site, machine, meter)
        self.state: dict[str, Any] = {}
        """The remembered keys of the printer's ``print`` object, merged from partial
        reports."""

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        report = json_object(payload).get("print")
        if report is None:
            return []
        if not isinstance(report, dict):
            raise DecodeError(f"print: expected an object, got {type(report).__name__}")
        self.state.update((key, report[key]) for key in REMEMBERED if key in report)
        readings = [
            self.reading(signal, as_number(report[key], "print.", key), received_ns, unit)
            for key, (signal, unit) in FIELDS.items()
            if key in report and report[key] is not None
        ]
        gcode_state = report.get("gcode_state")
        if gcode_state:
            if gcode_state not in STATES:
                raise DecodeError(f"print.gcode_state: unknown state {gcode_state!r:.30}; "
                                  f"known are {', '.join(STATES)}")
            readings.append(self.reading("state", STATES[gcode_state], received_ns))
            readings += self.job_transition(
                gcode_state in ACTIVE, self._outcome(gcode_state),
                str(self.state.get("subtask_name") or self.state.get("gcode_file") or ""),
                received_ns)
        return readings

    def _outcome(self, gcode_state: str) -> str | None:
        if gcode_state == "FINISH":
            return "good"
        if gcode_state == "FAILED":
            return "aborted" if self.state.get("print_error") == CANCELLED_BY_USER else "scrap"
        return None


PROFILE = Profile(BambuSource, fuzz=(("device/X/report", {"topic": "device/X/report"}),))
