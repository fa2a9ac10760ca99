"""A simulated printer published as a real one: a Bambu Lab printer (X1 full reports or
P1 partial ones) or OctoPrint with its MQTT plugin. Payloads follow the shapes documented
in :mod:`gateways.profiles.bambu` and :mod:`gateways.profiles.octoprint`, plus a
``sim_seq`` counter so that tests can count losses."""

from __future__ import annotations

from typing import Any

import orjson

from gateways.profiles.bambu import CANCELLED_BY_USER
from simulators.mqtt_publisher import Message
from simulators.printer import SimulatedPrinter


class BambuPrinter:
    profile = "bambu"

    def __init__(self, printer: SimulatedPrinter, serial: str, partial: bool = False) -> None:
        self.printer, self.serial, self.partial = printer, serial, partial
        self.topic = f"device/{serial}/report"
        self._sent: dict[str, Any] = {}
        self._seq = 0

    def source(self) -> dict[str, Any]:
        return {"topic": self.topic, "profile": "bambu"}

    def gcode_state(self) -> str:
        p = self.printer
        if p.state == "heating":
            return "PREPARE"
        if p.state == "printing":
            return "RUNNING"
        if p.last_outcome in ("failed", "cancelled"):
            return "FAILED"
        return "FINISH" if p.last_outcome == "good" else "IDLE"

    def report(self) -> dict[str, Any]:
        p = self.printer
        state = self.gcode_state()
        return {
            "gcode_state": state, "mc_percent": int(p.progress),
            "mc_remaining_time": int(p.remaining_s // 60), "layer_num": p.layer,
            "total_layer_num": p.total_layers, "nozzle_temper": round(p.nozzle_c, 2),
            "nozzle_target_temper": 215 if p.heating else 0, "bed_temper": round(p.bed_c, 2),
            "bed_target_temper": 60 if p.heating else 0, "chamber_temper": 28,
            "subtask_name": p.job.removesuffix(".gcode"), "gcode_file": p.job,
            "print_error": CANCELLED_BY_USER
            if state == "FAILED" and p.last_outcome == "cancelled" else 0,
        }

    def messages(self, now_s: float) -> list[Message]:
        self.printer.take_events()  # Bambu reports states, not events
        report = self.report()
        if self.partial:
            report = {k: v for k, v in report.items() if self._sent.get(k) != v}
            self._sent.update(report)
        self._seq += 1
        body = {"command": "push_status", "msg": 1 if self.partial else 0,
                "sequence_id": str(self._seq), **report}
        return [(self.topic, orjson.dumps({"print": body, "sim_seq": self._seq}), False)]


class OctoPrintPrinter:
    profile = "octoprint"

    def __init__(self, printer: SimulatedPrinter, base_topic: str) -> None:
        self.printer, self.base = printer, base_topic
        self._seq = 0

    def source(self) -> dict[str, Any]:
        return {"topic": f"{self.base}/#", "profile": "octoprint"}

    def _json(self, body: dict[str, Any], now_s: float) -> bytes:
        self._seq += 1
        return orjson.dumps({"_timestamp": round(now_s, 3), **body, "sim_seq": self._seq})

    def messages(self, now_s: float) -> list[Message]:
        p = self.printer
        out: list[Message] = []
        for event in p.take_events():
            if event.kind == "start":
                out.append(self._event("PrintStarted", {"name": event.job, "path": event.job,
                                                        "origin": "local"}, now_s))
            elif event.outcome == "good":
                out.append(self._event("PrintDone", {"name": event.job, "origin": "local",
                                                     "filament": p.filament_used_mm}, now_s))
            elif event.outcome == "failed":
                out.append(self._event("PrintFailed", {"name": event.job, "reason": "error"},
                                       now_s))
            else:
                out.append(self._event("PrintFailed", {"name": event.job, "reason": "cancelled"},
                                       now_s))
                out.append(self._event("PrintCancelled", {"name": event.job}, now_s))
        for tool, actual, target in (("tool0", p.nozzle_c, 215.0), ("bed", p.bed_c, 60.0)):
            body: dict[str, Any] = {"actual": round(actual, 2),
                                    "target": target if p.heating else 0.0}
            out.append((f"{self.base}/temperature/{tool}", self._json(body, now_s), False))
        if p.state == "printing":
            body = {"location": "local", "path": p.job, "progress": int(p.progress)}
            out.append((f"{self.base}/progress/printing", self._json(body, now_s), False))
        return out

    def _event(self, name: str, body: dict[str, Any], now_s: float) -> Message:
        return (f"{self.base}/event/{name}", self._json({"_event": name, **body}, now_s), False)



class MoonrakerPrinter:
    """Klipper through Moonraker: ``<instance>/klipper/status`` with only what changed."""

    profile = "moonraker"

    def __init__(self, printer: SimulatedPrinter, instance: str) -> None:
        self.printer, self.instance = printer, instance
        self._sent: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self._eventtime = 1000.0

    def source(self) -> dict[str, Any]:
        return {"topic": f"{self.instance}/#", "profile": "moonraker"}

    def print_state(self) -> str:
        p = self.printer
        if p.state in ("heating", "printing"):
            return "printing"
        return {"good": "complete", "failed": "error", "cancelled": "cancelled"}.get(
            p.last_outcome, "standby")

    def messages(self, now_s: float) -> list[Message]:
        p = self.printer
        p.take_events()  # Moonraker reports states, not events
        objects: dict[str, dict[str, Any]] = {
            "print_stats": {"state": self.print_state(), "filename": p.job,
                            "filament_used": p.filament_used_mm,
                            "info": {"current_layer": p.layer, "total_layer": p.total_layers}},
            "extruder": {"temperature": round(p.nozzle_c, 2),
                         "target": 215.0 if p.heating else 0.0},
            "heater_bed": {"temperature": round(p.bed_c, 2), "target": 60.0 if p.heating else 0.0},
            "display_status": {"progress": round(p.progress / 100, 4)},
        }
        changed: dict[str, dict[str, Any]] = {}
        for name, values in objects.items():
            sent = self._sent.setdefault(name, {})
            delta = {k: v for k, v in values.items() if sent.get(k) != v}
            if delta:
                changed[name] = delta
                sent.update(delta)
        self._seq += 1
        self._eventtime += 1.0
        body = {"eventtime": self._eventtime, "status": changed, "sim_seq": self._seq}
        return [(f"{self.instance}/klipper/status", orjson.dumps(body), False)]
