"""A simulated workshop fleet: printers, plugs and CNC gateways publishing real payloads.

Built from a scenario file or from counts (``circlemade simulate --printers 3 --meters 3
--cnc 1``). ``speed`` runs the machines' jobs faster than the clock (an hour's jobs in a
minute at 60) while messages carry real timestamps, and meters count power x real time.
The fleet also writes the ``[[machines]]`` config that reads it, so the edge can be
pointed at it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field

from contract.model import Identifier, StrictModel
from simulators.cnc import SimulatedCnc
from simulators.local_servers import free_port
from simulators.meter import ShellyGen1Plug, ShellyGen2Plug, SimulatedMeter, TasmotaPlug
from simulators.modbus_meter import ModbusMeterDevice, ModbusMeters
from simulators.mqtt_publisher import Message, Publisher
from simulators.mtconnect_agent import MTConnectAgent
from simulators.neighbourhood import sensors_around
from simulators.opcua_machine_tool import MachineToolServer
from simulators.operator import NOZZLE_JOBS, SimulatedOperator
from simulators.p1_meter import DsmrP1, GridConnection
from simulators.printer import PrinterBehaviour, SimulatedPrinter
from simulators.printer_payloads import BambuPrinter, MoonrakerPrinter, OctoPrintPrinter
from simulators.prusalink import DEMO_KEY, PRUSALINK_KEY_ENV, PrusaLinkPrinter
from simulators.sparkplug_node import SparkplugCncNode

PrinterFormat = Literal["bambu", "bambu_p1", "octoprint", "moonraker", "prusalink"]
"""prusalink: answers HTTP on ``port`` (simulators/prusalink.py), the others publish."""
MeterFormat = Literal["tasmota", "shelly_gen1", "shelly_gen2", "sdm630"]
"""sdm630: read over Modbus TCP (simulators/modbus_meter.py), the others publish."""


NOZZLE = {"name": "nozzle", "counts": "jobs", "service_every": NOZZLE_JOBS, "warn_at_pct": 50}
GRID_ID = "grid"

BASE_LOAD_W = 900.0
"""Lights, compressor, heating: what no plug meters."""
"""Each simulated printer's nozzle (docs/lifetime.md): due after each job (a short demo
sees it), and the simulated operator cleans it then."""

class PrinterSpec(StrictModel):
    id: Identifier
    format: PrinterFormat = "bambu"
    port: int = Field(default=0, ge=0, le=65535)
    """prusalink: its HTTP port on 127.0.0.1 (0: a free one)."""
    fail_rate: float = Field(default=0.08, ge=0, le=1)
    cancel_rate: float = Field(default=0.05, ge=0, le=1)


class MeterSpec(StrictModel):
    id: Identifier
    format: MeterFormat = "tasmota"
    machine: Identifier | None = None
    """The machine the plug is in front of; a machine of kind meter of its own if unset."""
    wrap_wh: float | None = Field(default=None, gt=0)
    reset_after_s: float | None = Field(default=None, gt=0)


class CncSpec(StrictModel):
    id: Identifier
    format: Literal["sparkplug_b", "mtconnect"] = "sparkplug_b"
    """mtconnect: an MTConnect agent on ``port`` (simulators/mtconnect_agent.py)."""
    port: int = Field(default=0, ge=0, le=65535)
    group: str = "atelier"
    node: str | None = None
    alarm_rate: float = Field(default=0.03, ge=0, le=1)


class MachineToolSpec(StrictModel):
    id: Identifier
    port: int = Field(default=0, ge=0, le=65535)
    """OPC UA port on 127.0.0.1; 0 takes 4840 + the machine tool's position."""
    alarm_rate: float = Field(default=0.03, ge=0, le=1)
    scrap_rate: float = Field(default=0.05, ge=0, le=1)


class Scenario(StrictModel):
    seed: int = 1
    speed: float = Field(default=1.0, gt=0)
    interval_s: float = Field(default=1.0, gt=0)
    printers: list[PrinterSpec] = Field(default_factory=list)
    meters: list[MeterSpec] = Field(default_factory=list)
    cnc: list[CncSpec] = Field(default_factory=list)
    machine_tools: list[MachineToolSpec] = Field(default_factory=list)
    modbus_port: int = Field(default=5020, ge=1, le=65535)
    """Where the sdm630 meters answer, on 127.0.0.1 (unit ids 1, 2, ... in order)."""
    grid: bool = False
    """A digital meter at the grid connection (machine ``grid``), publishing Fluvius
    telegrams: the site draws what the meters draw plus a base load
    (simulators/p1_meter.py)."""
    sensors: bool = False
    """A sound level meter on the façade (ESPHome) and an air sensor beside the first
    printer (Zigbee2MQTT): simulators/neighbourhood.py."""
    operator_site: str | None = None
    """When set, a simulated person says things about the printers of this site (a
    recycled spool, scrap verdicts, stop reasons: simulators/operator.py)."""

    @classmethod
    def from_counts(cls, printers: int, meters: int, cnc: int, machine_tools: int = 0,
                    opcua_port: int = 4840, modbus_meters: int = 0, prusalink: int = 0,
                    mtconnect: int = 0, **options: Any) -> Scenario:
        formats: list[PrinterFormat] = ["bambu", "octoprint", "moonraker", "bambu_p1"]
        meter_formats: list[MeterFormat] = ["tasmota", "shelly_gen2", "shelly_gen1"]
        printer_ids = [f"printer-{i + 1}" for i in range(printers)]
        cnc_ids = [f"cnc-{i + 1}" for i in range(cnc)]
        tool_ids = [f"mill-{i + 1}" for i in range(machine_tools)]
        fronted = printer_ids + tool_ids + cnc_ids
        return cls(
            printers=[PrinterSpec(id=p, format=formats[i % len(formats)])
                      for i, p in enumerate(printer_ids)] + [
                PrinterSpec(id=f"mk4-{i + 1}", format="prusalink") for i in range(prusalink)],
            meters=[MeterSpec(id=f"plug-{i + 1}", format=meter_formats[i % 3],
                              machine=fronted[i] if i < len(fronted) else None)
                    for i in range(meters)] + [
                MeterSpec(id=f"compressor-{i + 1}", format="sdm630")
                for i in range(modbus_meters)],
            cnc=[CncSpec(id=c) for c in cnc_ids] + [
                CncSpec(id=f"vf2-{i + 1}", format="mtconnect") for i in range(mtconnect)],
            machine_tools=[MachineToolSpec(id=t, port=opcua_port + i)
                           for i, t in enumerate(tool_ids)],
            **options,
        )


class Device(Protocol):
    profile: str

    def source(self) -> dict[str, Any]: ...

    def messages(self, now_s: float) -> list[Message]: ...


@dataclass
class SimulatedMachine:
    id: str
    kind: str
    physics: Any
    devices: list[Any] = field(default_factory=list)
    meters: list[SimulatedMeter] = field(default_factory=list)


class Fleet:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.machines: dict[str, SimulatedMachine] = {}
        self.published = 0
        self.on_publish: Callable[[str, bytes], None] | None = None
        self.http: list[PrusaLinkPrinter | MTConnectAgent] = []
        """Devices that answer HTTP: started and stopped with the fleet."""
        self._add_printers(scenario.seed)
        self._add_cnc(scenario.seed)
        self.operator = SimulatedOperator(scenario.operator_site, {
            m.id: m.physics for m in self.machines.values()
            if isinstance(m.physics, SimulatedPrinter)}, scenario.seed) \
            if scenario.operator_site else None
        self.machine_tools: list[MachineToolServer] = []
        self.modbus = ModbusMeters({}, scenario.modbus_port)
        self._add_machine_tools(scenario.seed)
        self._add_meters(scenario.seed)
        self.grid = self._add_grid() if scenario.grid else None
        if scenario.sensors:
            self._add_sensors(scenario.seed)

    @property
    def grid_meter(self) -> str | None:
        """The machine for ``[site] grid_meter``, if the fleet has one."""
        return GRID_ID if self.grid is not None else None

    def _add_sensors(self, seed: int) -> None:
        working = [(m.id, m.kind, m.physics) for m in self.machines.values()
                   if m.physics is not None]
        for sensor, device in sensors_around(working, seed):
            self.machines[sensor] = SimulatedMachine(sensor, "sensor", None, [device])

    def _add_grid(self) -> GridConnection:
        machines = list(self.machines.values())

        def load_w() -> float:  # each machine's plug, else its own power
            return BASE_LOAD_W + sum(
                sum(meter.power_w for meter in m.meters) if m.meters
                else float(getattr(m.physics, "load_w", 0.0)) for m in machines)

        grid = GridConnection(load_w, lambda: 0.0)
        self.machines[GRID_ID] = SimulatedMachine(GRID_ID, "meter", None, [
            DsmrP1(grid, f"dsmr/{GRID_ID}")])
        return grid

    def _add_printers(self, seed: int) -> None:
        for i, spec in enumerate(self.scenario.printers):
            printer = SimulatedPrinter(spec.id, seed=seed + i, behaviour=PrinterBehaviour(
                fail_rate=spec.fail_rate, cancel_rate=spec.cancel_rate))
            device: Device
            if spec.format == "prusalink":
                prusa = PrusaLinkPrinter(printer, spec.port or free_port(),
                                         os.environ.get(PRUSALINK_KEY_ENV, DEMO_KEY),
                                         PRUSALINK_KEY_ENV)
                self.http.append(prusa)
                device = prusa
            elif spec.format == "octoprint":
                device = OctoPrintPrinter(printer, f"octoprint/{spec.id}")
            elif spec.format == "moonraker":
                device = MoonrakerPrinter(printer, spec.id)
            else:
                device = BambuPrinter(printer, f"00M00C{seed:03d}{i:06d}",
                                      partial=spec.format == "bambu_p1")
            self.machines[spec.id] = SimulatedMachine(spec.id, "printer", printer, [device])

    def _add_cnc(self, seed: int) -> None:
        for i, cnc_spec in enumerate(self.scenario.cnc):
            cnc = SimulatedCnc(cnc_spec.id, seed=seed + 200 + i, alarm_rate=cnc_spec.alarm_rate)
            node: Device
            if cnc_spec.format == "mtconnect":
                agent = MTConnectAgent(cnc, cnc_spec.port or free_port(), cnc_spec.id)
                self.http.append(agent)
                node = agent
            else:
                node = SparkplugCncNode(cnc, cnc_spec.group,
                                        cnc_spec.node or f"{cnc_spec.id}-gw", cnc_spec.id)
            self.machines[cnc_spec.id] = SimulatedMachine(cnc_spec.id, "cnc", cnc, [node])

    def _add_machine_tools(self, seed: int) -> None:
        scenario = self.scenario
        for i, tool_spec in enumerate(scenario.machine_tools):
            mill = SimulatedCnc(tool_spec.id, seed=seed + 300 + i, alarm_rate=tool_spec.alarm_rate,
                                scrap_rate=tool_spec.scrap_rate)
            self.machine_tools.append(MachineToolServer(
                mill, tool_spec.port or 4840 + i, speed=scenario.speed,
                interval_s=min(scenario.interval_s, 0.5)))
            self.machines[tool_spec.id] = SimulatedMachine(tool_spec.id, "cnc", None)

    def _add_meters(self, seed: int) -> None:
        for i, meter_spec in enumerate(self.scenario.meters):
            target = self.machines.get(meter_spec.machine or "")
            physics = target.physics if target else None
            if target is not None and physics is None:  # a machine tool: its CNC is served
                physics = next(t.cnc for t in self.machine_tools if t.cnc.machine == target.id)
            load = _load_of(physics) if physics is not None else (lambda: 40.0)
            meter = SimulatedMeter(meter_spec.id, load, seed=seed + 100 + i,
                                   wrap_wh=meter_spec.wrap_wh,
                                   reset_after_s=meter_spec.reset_after_s)
            plug: Device
            if meter_spec.format == "sdm630":
                unit = len(self.modbus.meters) + 1
                self.modbus.meters[unit] = meter
                plug = ModbusMeterDevice(meter, self.modbus, unit, offline_state=target is None)
            elif meter_spec.format == "tasmota":
                plug = TasmotaPlug(meter, meter_spec.id)
            elif meter_spec.format == "shelly_gen1":
                plug = ShellyGen1Plug(meter, meter_spec.id)
            else:
                plug = ShellyGen2Plug(meter, meter_spec.id)
            if target is None:
                target = self.machines[meter_spec.id] = SimulatedMachine(
                    meter_spec.id, "meter", None)
            target.devices.append(plug)
            target.meters.append(meter)

    def machines_config(self) -> list[dict[str, Any]]:
        """The ``[[machines]]`` entries that read this fleet."""
        endpoints = {t.cnc.machine: t.endpoint for t in self.machine_tools}
        # the mean cycle as the ideal one: a simulated machine runs at about 100 %
        cncs = [t.cnc for t in self.machine_tools] + [
            m.physics for m in self.machines.values() if isinstance(m.physics, SimulatedCnc)]
        ideal = {cnc.machine: sum(cnc.cycle_s) / 2 for cnc in cncs}
        return [{"id": m.id, "kind": m.kind,
                 **({"location": m.id.removeprefix("air-")} if m.kind == "sensor" else {}),
                 **({"ideal_cycle_s": ideal[m.id], "stock_g": {"*": 850.0},
                     "material": "mixed stock", "density_g_cm3": 1.0}
                    if m.id in ideal else {}),
                 **({"components": [NOZZLE]} if m.kind == "printer" else {}),
                 "sources": (
                    [{"endpoint": endpoints[m.id], "profile": "umati"}] if m.id in endpoints
                    else []) + [d.source() for d in m.devices]}
                for m in self.machines.values()]

    def step(self, dt_s: float) -> None:
        """Jobs and cycles run ``speed`` times faster than the clock; meters count what
        the power draws per second of the clock, as the messages' times say (energy is
        power x time however fast the jobs go)."""
        for machine in self.machines.values():
            if machine.physics is not None:
                machine.physics.step(dt_s * self.scenario.speed)
            for meter in machine.meters:
                meter.step(dt_s)
        if self.grid is not None:
            self.grid.step(dt_s)

    def devices(self) -> list[Any]:
        """What publishes, machines first: the operator speaks of what they said."""
        devices = [d for m in self.machines.values() for d in m.devices]
        return devices + ([self.operator] if self.operator is not None else [])

    async def run(self, host: str, port: int, duration_s: float | None = None,
                  client_id: str = "circlemade-simulator", steps: int | None = None) -> None:
        """Publish every ``interval_s`` until cancelled, ``duration_s`` has passed or
        ``steps`` rounds are sent (the same workload however busy the machine is)."""
        interval = self.scenario.interval_s
        for tool in self.machine_tools:
            await tool.start()
        if self.modbus.meters:
            await self.modbus.start()
        for server in self.http:
            await server.start()
        nodes = [d for d in self.devices() if isinstance(d, SparkplugCncNode)]
        plain = Publisher(host, port, client_id)
        sparkplug = {id(n): Publisher(host, port, f"{client_id}-{n.node}", will=n.will())
                     for n in nodes}
        publishers = [plain, *sparkplug.values()]
        for publisher in publishers:
            await asyncio.to_thread(publisher.wait_connected)
        for device in self.devices():
            if hasattr(device, "birth") and not isinstance(device, SparkplugCncNode):
                self._send(plain, device.birth())
        deadline = None if duration_s is None else time.monotonic() + duration_s
        try:
            sent_steps = 0
            while ((deadline is None or time.monotonic() < deadline)
                   and (steps is None or sent_steps < steps)):
                sent_steps += 1
                now = time.time()
                for device in self.devices():
                    self._send(sparkplug.get(id(device), plain), device.messages(now))
                await asyncio.sleep(interval)
                self.step(interval)
        finally:
            for publisher in publishers:
                await asyncio.to_thread(publisher.close)
            for tool in self.machine_tools:
                await tool.stop()
            await self.modbus.stop()
            for server in self.http:
                await server.stop()

    def _send(self, publisher: Publisher, messages: list[Message]) -> None:
        for topic, payload, retain in messages:
            publisher.publish(topic, payload, qos=1, retain=retain)
            self.published += 1
            if self.on_publish is not None:
                self.on_publish(topic, payload)


def _load_of(physics: Any) -> Callable[[], float]:
    return lambda: float(physics.load_w)
