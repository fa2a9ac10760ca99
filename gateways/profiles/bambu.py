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

Newer printers (H2D, H2C, H2S, P2S) report the chamber only in ``device.ctc.info.temp``
and each nozzle in ``device.extruder.info``; both pack the target in the high 16 bits
and the current value in the low 16 (3932208 = 60 << 16 | 48: 48 °C, target 60), and
bits 4-7 of ``device.extruder.state`` say which nozzle prints. An H2D printing on its
right nozzle (id 0) while the left one idles, as its reports are laid out::

    {"print": {"command": "push_status", "msg": 0, "gcode_state": "RUNNING",
      "nozzle_temper": 40, "nozzle_target_temper": 0, "chamber_temper": 5,
      "device": {"ctc": {"info": {"temp": 3932208}},
                 "extruder": {"state": 2, "info": [
                     {"id": 0, "temp": 17301768}, {"id": 1, "temp": 40}]}}}}

There the nozzle is the active one's (264 °C, target 264) and the chamber 48 °C; the
top-level ``nozzle_temper`` (the idle nozzle's 40) and ``chamber_temper`` are left out.
The A1, A1 mini, P1P and P1S have no chamber sensor: their ``chamber_temper`` (5, a
placeholder) is left out. The model comes from ``model`` in the source, or else from
the serial in the topic (``01S`` P1P, ``01P`` P1S, ``030`` A1 mini, ``039`` A1, ``00M``
X1C, ``03W`` X1E, ``094`` H2D).

Jobs: entering PREPARE/RUNNING starts one (named by ``subtask_name``); FINISH ends it
good, FAILED ends it as scrap, or aborted when ``print_error`` is 50348044 (0x0300400C,
"task cancelled by the user"). ``mc_remaining_time`` is in minutes.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from contract.reading import Reading
from gateways.broker import Broker, DeviceRequest
from gateways.decoding import DecodeError
from gateways.profiles.base import (
    DecoderBase,
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


SERIAL_MODELS = {"01S": "P1P", "01P": "P1S", "030": "A1MINI", "039": "A1", "00M": "X1C",
                 "03W": "X1E", "094": "H2D"}
"""Serial prefixes of the models as their printers name themselves."""
NO_CHAMBER = frozenset({"P1P", "P1S", "A1", "A1MINI"})
"""Models whose ``chamber_temper`` is a placeholder, not a sensor."""
Model = Literal["X1", "X1C", "X1E", "P1P", "P1S", "A1", "A1MINI", "H2D", "H2C", "H2S", "P2S"]


class BambuSource(MqttSourceBase):
    profile: Literal["bambu"]
    model: Model | None = None
    """The printer's model, when its serial is not in the topic (A1, P1S, H2D...): what it
    cannot measure is left out."""
    pushall: bool = True
    """Ask for a full report on each connection and then every 5 minutes (P1 and A1
    printers otherwise send only what changed; asking more often loads them). Needs the
    topic to name the printer: ``device/<serial>/report``."""

    def requests(self) -> list[DeviceRequest]:
        parts = self.topic.split("/")
        if not self.pushall or len(parts) != 3 or parts[2] != "report" or parts[1] in "+#":
            return []
        return [DeviceRequest(f"device/{parts[1]}/request", PUSHALL, PUSHALL_EVERY_S)]

    def problems(self, broker: Broker) -> list[tuple[str, str]]:
        found = []
        if self.pushall and not self.requests():
            found.append(("topic", "name the printer: device/<serial>/report; the full "
                          "report request needs the serial, and P1 and A1 printers send "
                          "only what changed without it (or set pushall = false)"))
        if broker.tls:  # the printer's own broker, reached directly
            if broker.username is None or (broker.password_env is None
                                           and broker.password_file is None):
                found.append(("broker", f"broker {broker.id!r}: a Bambu printer's broker "
                              "needs username = \"bblp\" and password_env or password_file "
                              "(its access code)"))
            if broker.tls_verify and broker.ca_file is None and broker.tls_fingerprint is None:
                found.append(("broker", f"broker {broker.id!r}: a Bambu printer's certificate "
                              "is signed by Bambu's own CA, not the system's: give ca_file, "
                              "or pin tls_fingerprint (circlemade tls fingerprint HOST:8883)"))
        return found

    def decoder(self, site: str, machine: str) -> BambuDecoder:
        serial = self.machine_from_topic(self.topic) or ""
        return BambuDecoder(site, machine, self.meter,
                            self.model or SERIAL_MODELS.get(serial[:3]))

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")
        return parts[1] if len(parts) == 3 and parts[0] == "device" else None


PUSHALL = orjson.dumps({"pushing": {"sequence_id": "0", "command": "pushall", "version": 1,
                                    "push_target": 1}})
"""The full-report request (OpenBambuAPI, mqtt.md, "pushall")."""
PUSHALL_EVERY_S = 300.0


class BambuDecoder(DecoderBase):
    def __init__(self, site: str, machine: str, meter: str | None,
                 model: str | None = None) -> None:
        super().__init__(site, machine, meter)
        self.state: dict[str, Any] = {}
        """The remembered keys of the printer's ``print`` object, merged from partial
        reports."""
        self.active_nozzle = 0
        """Which of ``device.extruder.info`` prints (a partial report may not say)."""
        self.own_sensors: set[str] = {"chamber_temper"} if model in NO_CHAMBER else set()
        """Top-level keys left out: placeholders of the model, or what the ``device``
        object replaces once it has been seen."""

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        report = json_object(payload).get("print")
        if report is None:
            return []
        if not isinstance(report, dict):
            raise DecodeError(f"print: expected an object, got {type(report).__name__}")
        self.state.update((key, report[key]) for key in REMEMBERED if key in report)
        device = report.get("device")
        extra = self._device(device, received_ns) if isinstance(device, dict) else []
        left_out = self.own_sensors
        readings = [
            self.reading(signal, as_number(report[key], "print.", key), received_ns, unit)
            for key, (signal, unit) in FIELDS.items()
            if key in report and report[key] is not None and key not in left_out
        ] + extra
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

    def _device(self, device: dict[str, Any], time_ns: int) -> list[Reading]:
        """The chamber and the printing nozzle from the newer ``device`` object."""
        readings = []
        chamber = _packed(device, "ctc", "info", "temp")
        if chamber is not None:
            self.own_sensors.add("chamber_temper")
            readings.append(self.reading("chamber_temp_c", chamber[0], time_ns))
        extruder = device.get("extruder")
        if isinstance(extruder, dict):
            state = extruder.get("state")
            if isinstance(state, int):
                self.active_nozzle = (state >> 4) & 0xF
            nozzles = extruder.get("info")
            nozzle = next((n for n in nozzles if isinstance(n, dict)
                           and n.get("id") == self.active_nozzle), None) if isinstance(
                               nozzles, list) else None
            packed = _packed(nozzle, "temp") if nozzle is not None else None
            if packed is not None:
                self.own_sensors |= {"nozzle_temper", "nozzle_target_temper"}
                readings += [self.reading("nozzle_temp_c", packed[0], time_ns),
                             self.reading("nozzle_target_c", packed[1], time_ns)]
        return readings

    def _outcome(self, gcode_state: str) -> str | None:
        if gcode_state == "FINISH":
            return "good"
        if gcode_state == "FAILED":
            return "aborted" if self.state.get("print_error") == CANCELLED_BY_USER else "scrap"
        return None


PROFILE = Profile(BambuSource, fuzz=(("device/X/report", {"topic": "device/X/report"}),))


def _packed(document: dict[str, Any], *path: str) -> tuple[float, float] | None:
    """(current, target) of a temperature packed as target << 16 | current, at ``path``."""
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return None
    number = int(as_number(value, ".".join(path)))
    return float(number & 0xFFFF), float((number >> 16) & 0xFFFF)
