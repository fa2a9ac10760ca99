"""OctoPrint through its MQTT plugin (OctoPrint-MQTT): events, temperatures and progress.

Topics and payloads as the plugin's README documents them (base topic ``octoPrint/``;
every payload carries ``_timestamp`` in unix seconds)::

    octoPrint/temperature/tool0   {"_timestamp": 1763812800, "actual": 214.8, "target": 215.0}
    octoPrint/temperature/bed     {"_timestamp": 1763812800, "actual": 59.9, "target": 60.0}
    octoPrint/progress/printing   {"_timestamp": 1763812801, "location": "local",
                                   "path": "clip_PETG.gcode", "progress": 42}
    octoPrint/event/PrintStarted  {"_timestamp": 1763812700, "_event": "PrintStarted",
                                   "name": "clip_PETG.gcode", "path": "clip_PETG.gcode",
                                   "origin": "local", "size": 1289021}
    octoPrint/event/PrintDone     {"_timestamp": 1763816300, "_event": "PrintDone",
                                   "name": "clip_PETG.gcode", "origin": "local", "time": 3600.2}
    octoPrint/mqtt                disconnected   (the plugin's last will; "connected" on start)

Subscribe with the base topic and ``#`` (``octoPrint/#``); the part after the base says
what a message is. Events -> canonical state: PrintStarted, PrintResumed -> running;
PrintPaused -> stopped; PrintDone, PrintCancelled, PrintFailed, Connected -> idle;
Error -> fault; Disconnected and the plugin's "disconnected" will -> offline. Other
events yield nothing. Jobs: PrintStarted starts one; PrintDone ends it good,
PrintCancelled aborted, PrintFailed (reason "error") as scrap. OctoPrint fires PrintFailed
(reason "cancelled") together with PrintCancelled; that one is skipped, so a job ends once.
OctoPrint's events carry no filament figure; ``filament_used_mm`` is taken from an event's
``filament`` (mm) where a plugin adds it.
"""

from __future__ import annotations

from typing import Any, Literal

from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import (
    DecoderBase,
    MqttSourceBase,
    Profile,
    as_number,
    json_object,
    seconds_to_ns,
)

EVENT_STATES = {
    "PrintStarted": "running", "PrintResumed": "running", "PrintPaused": "stopped",
    "PrintDone": "idle", "PrintCancelled": "idle", "PrintFailed": "idle", "Connected": "idle",
    "Error": "fault", "Disconnected": "offline",
}
TEMPERATURES = {"tool0": ("nozzle_temp_c", "nozzle_target_c"),
                "bed": ("bed_temp_c", "bed_target_c"), "chamber": ("chamber_temp_c", None)}


class OctoPrintSource(MqttSourceBase):
    profile: Literal["octoprint"]

    def decoder(self, site: str, machine: str) -> OctoPrintDecoder:
        return OctoPrintDecoder(site, machine, self.meter)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        parts = topic.split("/")  # <base...>/<kind>/<name>: the base's last level
        return parts[-3] if len(parts) >= 3 else None


class OctoPrintDecoder(DecoderBase):
    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        parts = topic.split("/")
        if parts[-1] == "mqtt":
            text = payload.decode(errors="replace").strip()
            return [self.reading("state", "offline", received_ns)] if text == "disconnected" else []
        if len(parts) < 3 or parts[-2] not in ("temperature", "progress", "event"):
            return []
        kind, name = parts[-2], parts[-1]
        document = json_object(payload)
        time_ns = seconds_to_ns(document.get("_timestamp"), received_ns, "_timestamp")
        if kind == "temperature":
            return self._temperature(name, document, time_ns)
        if kind == "progress":
            if name != "printing" or "progress" not in document:
                return []
            return [self.reading("progress_pct", as_number(document["progress"], "progress"),
                                 time_ns)]
        return self._event(name, document, time_ns)

    def _temperature(self, tool: str, document: dict[str, Any], time_ns: int) -> list[Reading]:
        signals = TEMPERATURES.get(tool)
        if signals is None:
            return []
        readings = []
        for key, signal in zip(("actual", "target"), signals, strict=True):
            if signal is not None and document.get(key) is not None:
                readings.append(self.reading(signal, as_number(document[key], key), time_ns))
        if not readings:
            raise DecodeError(f"temperature/{tool}: expected 'actual' and 'target'")
        return readings

    def _event(self, event: str, document: dict[str, Any], time_ns: int) -> list[Reading]:
        state = EVENT_STATES.get(event)
        if state is None:
            return []
        if event == "PrintFailed" and document.get("reason") == "cancelled":
            return []
        readings = [self.reading("state", state, time_ns)]
        if "filament" in document:
            readings.append(self.reading("filament_used_mm",
                                         as_number(document["filament"], "filament"), time_ns))
        outcome = {"PrintDone": "good", "PrintCancelled": "aborted",
                   "PrintFailed": "scrap"}.get(event)
        name = str(document.get("name") or document.get("filename") or "")
        readings += self.job_transition(event == "PrintStarted", outcome, name, time_ns)
        return readings


PROFILE = Profile(OctoPrintSource, fuzz=(("octoPrint/event/PrintDone", {"topic": "octoPrint/#"}),
                            ("octoPrint/temperature/tool0", {"topic": "octoPrint/#"}),
                            ("octoPrint/progress/printing", {"topic": "octoPrint/#"})))
