"""Klipper printers through Moonraker's MQTT client (``[mqtt]`` with ``status_objects``).

Moonraker publishes subscribed Klipper objects to ``<instance>/klipper/status`` as
``{"eventtime": <klipper monotonic s>, "status": {...}}`` with only what changed (as its
configuration docs describe for ``status_objects``), Klippy's state to
``<instance>/klipper/state``, and its own availability to ``<instance>/moonraker/status``
(``{"server": "online"}`` / ``"offline"``, the last will). A Voron mid-print::

    {"eventtime": 17234.514, "status": {
      "print_stats": {"state": "printing", "filename": "gear-housing_ABS.gcode",
                      "filament_used": 3812.6, "print_duration": 2712.3,
                      "info": {"current_layer": 88, "total_layer": 210}},
      "extruder": {"temperature": 249.7, "target": 250.0},
      "heater_bed": {"temperature": 104.9, "target": 105.0},
      "display_status": {"progress": 0.4213}}}

``eventtime`` is Klipper's monotonic clock, not wall time: arrival time is used.
``print_stats.state`` -> canonical state: standby, complete, cancelled -> idle;
printing -> running; paused -> stopped; error -> fault. Klippy state shutdown or error ->
fault, disconnected -> offline; Moonraker "offline" -> offline. Jobs: entering printing
starts one; complete ends it good, cancelled aborted, error as scrap, with the
``filament_used`` (mm) of the job.
"""

from __future__ import annotations

from typing import Any, Literal

from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import DecoderBase, MqttSourceBase, Profile, as_number, json_object

PRINT_STATES = {"standby": "idle", "printing": "running", "paused": "stopped",
                "complete": "idle", "cancelled": "idle", "error": "fault"}
OUTCOMES = {"complete": "good", "cancelled": "aborted", "error": "scrap"}
KLIPPY_STATES = {"shutdown": "fault", "error": "fault", "disconnected": "offline"}

REMEMBERED = ("filename", "filament_used")
FIELDS = {  # (object, key) -> (signal, scale to canonical)
    ("extruder", "temperature"): ("nozzle_temp_c", 1.0),
    ("extruder", "target"): ("nozzle_target_c", 1.0),
    ("heater_bed", "temperature"): ("bed_temp_c", 1.0),
    ("heater_bed", "target"): ("bed_target_c", 1.0),
    ("display_status", "progress"): ("progress_pct", 100.0),
    ("print_stats", "filament_used"): ("filament_used_mm", 1.0),
}


class MoonrakerSource(MqttSourceBase):
    profile: Literal["moonraker"]

    def decoder(self, site: str, machine: str) -> MoonrakerDecoder:
        return MoonrakerDecoder(site, machine, self.meter)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        return topic.split("/")[0] or None


class MoonrakerDecoder(DecoderBase):
    def __init__(self, site: str, machine: str, meter: str | None) -> None:
        super().__init__(site, machine, meter)
        self.print_stats: dict[str, Any] = {}
        """The last known ``print_stats`` keys a later partial update needs (the file
        and the filament used); nothing else is kept, so new keys cannot grow memory."""

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        if topic.endswith("/klipper/state"):
            state = KLIPPY_STATES.get(payload.decode(errors="replace").strip().strip('"'))
            return [self.reading("state", state, received_ns)] if state else []
        if topic.endswith("/moonraker/status"):
            server = json_object(payload).get("server")
            return [self.reading("state", "offline", received_ns)] if server == "offline" else []
        if not topic.endswith("/klipper/status"):
            return []
        status = json_object(payload).get("status")
        if not isinstance(status, dict):
            raise DecodeError("status: expected an object of Klipper objects")
        for name, values in status.items():
            if not isinstance(values, dict):
                raise DecodeError(f"status.{name}: expected an object, got {values!r:.30}")
        stats = status.get("print_stats", {})
        self.print_stats.update((key, stats[key]) for key in REMEMBERED if key in stats)
        readings = []
        for (obj, key), (signal, scale) in FIELDS.items():
            value = status.get(obj, {}).get(key)
            if value is not None:
                readings.append(self.reading(signal, as_number(value, "status.", obj, ".", key)
                                             * scale, received_ns))
        info = status.get("print_stats", {}).get("info")
        if isinstance(info, dict) and info.get("current_layer") is not None:
            readings.append(self.reading("layer", as_number(info["current_layer"],
                                                            "print_stats.info.current_layer"),
                                         received_ns))
        return readings + self._print_state(status.get("print_stats", {}), received_ns)

    def _print_state(self, print_stats: dict[str, Any], time_ns: int) -> list[Reading]:
        state = print_stats.get("state")
        if state is None:
            return []
        if state not in PRINT_STATES:
            raise DecodeError(f"print_stats.state: unknown state {state!r:.30}; "
                              f"known are {', '.join(PRINT_STATES)}")
        readings = [self.reading("state", PRINT_STATES[state], time_ns)]
        stats = self.print_stats
        events = self.job_transition(state in ("printing", "paused"), OUTCOMES.get(state),
                                     str(stats.get("filename") or ""), time_ns)
        if (events and OUTCOMES.get(state) and "filament_used" not in print_stats
                and stats.get("filament_used") is not None):
            events.append(self.reading("filament_used_mm",
                                       as_number(stats["filament_used"], "filament_used"),
                                       time_ns))
        return readings + events


PROFILE = Profile(MoonrakerSource, fuzz=(("v/klipper/status", {"topic": "v/#"}),))
