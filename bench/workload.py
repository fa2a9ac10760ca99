"""The benchmark workload: a workshop of N machines sending real device payloads.

Machines take turns in four kinds, one payload profile each, made by the same simulators
the tests use: a Bambu Lab printer (full ``push_status`` reports), a laser cutter behind
a Tasmota plug (``tele/.../SENSOR``, and ``STATE`` every tenth message), a CNC router
behind a Shelly Gen2 plug (``NotifyStatus``), and a printer sending generic JSON. Device
time advances one second per round of all machines, so every message is a new point.

The same workload feeds circlemade-edge (through the config below), the bare paho
subscriber and Node-RED (bench/node_red.py maps the same payloads to the same points).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import tomli_w

from simulators.meter import ShellyGen2Plug, SimulatedMeter, TasmotaPlug
from simulators.printer import SimulatedPrinter
from simulators.printer_payloads import BambuPrinter

KINDS = ("bambu", "tasmota", "shelly", "json")
MARKER_TOPIC = "bench/marker/status"
"""Published last: when its point is in the database, everything before it is too (one
session, one order, a first-in first-out buffer)."""

JSON_FIELDS = [
    {"path": "state", "signal": "state",
     "states": {"printing": "running", "heating": "running", "cooling": "idle", "idle": "idle"}},
    {"path": "progress", "signal": "progress_pct"},
    {"path": "layer", "signal": "layer"},
    {"path": "temps.nozzle", "signal": "nozzle_temp_c"},
    {"path": "temps.bed", "signal": "bed_temp_c"},
]


def machine_id(index: int) -> str:
    return f"{KINDS[index % len(KINDS)]}-{index:03d}"


class JsonPrinter:
    """A printer whose firmware publishes its own JSON status, with device time in ms."""

    def __init__(self, printer: SimulatedPrinter, topic: str) -> None:
        self.printer, self.topic = printer, topic

    def source(self) -> dict[str, Any]:
        return {"topic": self.topic, "profile": "json",
                "time": {"path": "ts", "format": "unix_ms"}, "fields": JSON_FIELDS}

    def messages(self, now_s: float) -> list[tuple[str, bytes, bool]]:
        p = self.printer
        return [(self.topic, orjson.dumps({
            "ts": int(now_s * 1000), "state": p.state, "progress": round(p.progress, 1),
            "layer": p.layer, "job": p.job,
            "temps": {"nozzle": round(p.nozzle_c, 1), "nozzle_target": 215.0,
                      "bed": round(p.bed_c, 1), "bed_target": 60.0}}), False)]


@dataclass(frozen=True)
class BenchMachine:
    id: str
    kind: str
    profile: str
    data_topic: str
    """Where its measurements come (Tasmota's STATE messages go to a sibling topic)."""
    device: Any
    physics: Any


class Workshop:
    def __init__(self, machines: int) -> None:
        self.machines: list[BenchMachine] = []
        self._next = 0
        for i in range(machines):
            mid, profile = machine_id(i), KINDS[i % len(KINDS)]
            printer = SimulatedPrinter(mid, seed=i)
            if profile in ("bambu", "json"):
                device: Any = (BambuPrinter(printer, f"00M00A{i:07d}") if profile == "bambu"
                               else JsonPrinter(printer, f"bench/{mid}/status"))
                self.machines.append(BenchMachine(mid, "printer", profile, device.topic, device,
                                                  printer))
                continue
            meter = SimulatedMeter(mid, partial(_plug_load, printer), i)
            if profile == "tasmota":
                device, kind, topic = TasmotaPlug(meter, mid), "laser", f"tele/{mid}/SENSOR"
            else:
                device = ShellyGen2Plug(meter, f"shellyplusplugs-{i:06x}")
                kind, topic = "router", f"{device.device_id}/events/rpc"
            self.machines.append(BenchMachine(mid, kind, profile, topic, device,
                                              _Both(printer, meter)))

    def messages(self, count: int, start_s: float | None = None) -> Iterator[tuple[str, bytes]]:
        """``count`` messages, device time from ``start_s`` (default: ``count`` rounds ago)."""
        rounds = count // max(1, len(self.machines)) + 1
        now_s = time.time() - rounds if start_s is None else start_s
        sent = 0
        while True:
            for machine in self.machines:
                machine.physics.step(1.0)
                for topic, payload, _ in machine.device.messages(now_s):
                    yield topic, payload
                    sent += 1
                    if sent >= count:
                        return
            now_s += 1.0

    def live(self, count: int) -> Iterator[tuple[str, bytes]]:
        """The next ``count`` messages, machine after machine, each stamped with the
        clock as it is made: for latency, device time is the moment of sending."""
        sent = 0
        while sent < count:
            machine = self.machines[self._next]
            self._next = (self._next + 1) % len(self.machines)
            machine.physics.step(1.0)
            for topic, payload, _ in machine.device.messages(time.time()):
                yield topic, payload
                sent += 1

    def config(self, mqtt_port: int, influx: dict[str, Any], client_id: str,
               qos: int, buffer_path: Path, fsync: bool = True) -> str:
        """circlemade-edge's config for this workshop, as TOML."""
        machines = [{"id": m.id, "kind": m.kind, "sources": [m.device.source()]}
                    for m in self.machines]
        machines.append({"id": "marker", "kind": "other", "sources": [
            {"topic": MARKER_TOPIC, "profile": "json", "fields": JSON_FIELDS}]})
        return tomli_w.dumps({
            "site": {"id": "bench"},
            "brokers": [{"port": mqtt_port, "client_id": client_id, "qos": qos}],
            "influx": influx,
            "buffer": {"path": str(buffer_path), "fsync": fsync},
            "machines": machines,
        })


def marker_payload(sequence: int) -> bytes:
    return orjson.dumps({"state": "printing", "progress": sequence % 100, "layer": sequence,
                         "temps": {"nozzle": 0.0, "bed": 0.0}})


def _plug_load(printer: SimulatedPrinter) -> float:
    """What a plug in front of the printer reads: heaters on, or standby."""
    return 900.0 if printer.heating else 40.0


class _Both:
    """Steps a printer and the plug metering it together."""

    def __init__(self, printer: SimulatedPrinter, meter: SimulatedMeter) -> None:
        self.printer, self.meter = printer, meter

    def step(self, dt_s: float) -> None:
        self.printer.step(dt_s)
        self.meter.step(dt_s)
