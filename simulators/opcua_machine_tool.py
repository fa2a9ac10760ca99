"""A simulated machine tool as an OPC UA server, shaped after umati / OPC 40501.

Address space, in the namespace ``NAMESPACE`` (browse names in brackets)::

    Objects/Machines/<id>
      Identification        Manufacturer, Model, SerialNumber, YearOfConstruction
      MachineryItemState    CurrentState: Executing, NotExecuting, OutOfService, NotAvailable
      Monitoring
        MachineTool         OperationMode (Setup, Automatic), ElectricalPower (W),
                            PowerOnDuration (h)
        Spindle             ActualSpeed (rpm), Override (%), IsRotating
        Channel1            ChannelState (Active, Interrupted, Reset), FeedOverride (%)
      Production
        ActiveProgram       Name, State (Running, Ended, Aborted)
        Counters            PartsProduced, PartsGood, PartsScrap
      Notifications         AlarmActive, AlarmText

The companion specifications' own NodeSets are not loaded (they are large and the edge
needs only the shape); the structure, names and state values follow them so that the
``umati`` profile reads a real machine the same way. Values are written with source
timestamps, as a machine's server would.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.common.node import Node

from simulators.cnc import SimulatedCnc

NAMESPACE = "http://circlemade.eu/UA/SimulatedMachineTool/"

ITEM_STATES = {"ACTIVE": "Executing", "READY": "NotExecuting", "STOPPED": "NotExecuting",
               "ALARM": "NotExecuting"}
CHANNEL_STATES = {"ACTIVE": "Active", "READY": "Reset", "STOPPED": "Interrupted",
                  "ALARM": "Interrupted"}


@dataclass
class MachineToolServer:
    cnc: SimulatedCnc
    port: int
    speed: float = 1.0
    interval_s: float = 0.5
    certificate: Path | None = None
    private_key: Path | None = None
    security_only: bool = False
    """Offer only Basic256Sha256 Sign/SignAndEncrypt endpoints, no None."""
    server: Server | None = field(default=None, repr=False)
    _vars: dict[str, Node] = field(default_factory=dict, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/circlemade/"

    async def start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"circlemade simulated machine tool {self.cnc.machine}")
        await server.set_application_uri(f"urn:circlemade:sim:{self.cnc.machine}")
        policies = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                    ua.SecurityPolicyType.Basic256Sha256_Sign]
        if self.certificate and self.private_key:
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
            server.set_security_policy(
                policies if self.security_only else [ua.SecurityPolicyType.NoSecurity, *policies])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await server.register_namespace(NAMESPACE)
        machines = await server.nodes.objects.add_folder(idx, "Machines")
        machine = await machines.add_object(idx, self.cnc.machine)
        await self._build(machine, idx)
        await server.start()
        self.server = server
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def _build(self, machine: Node, idx: int) -> None:
        async def folder(parent: Node, name: str) -> Node:
            return await parent.add_object(idx, name)

        async def var(parent: Node, key: str, name: str, value: Any,
                      variant: ua.VariantType) -> None:
            self._vars[key] = await parent.add_variable(idx, name, ua.Variant(value, variant))

        ident = await folder(machine, "Identification")
        for name, value in (("Manufacturer", "circlemade simulations"),
                            ("Model", "CR-408 router"),
                            ("SerialNumber", f"SIM-{self.cnc.seed:05d}")):
            await var(ident, name, name, value, ua.VariantType.String)
        await var(ident, "YearOfConstruction", "YearOfConstruction", 2024, ua.VariantType.UInt16)
        item_state = await folder(machine, "MachineryItemState")
        await var(item_state, "item_state", "CurrentState", "NotExecuting", ua.VariantType.String)
        monitoring = await folder(machine, "Monitoring")
        tool = await folder(monitoring, "MachineTool")
        await var(tool, "mode", "OperationMode", "Setup", ua.VariantType.String)
        await var(tool, "power", "ElectricalPower", 0.0, ua.VariantType.Double)
        await var(tool, "power_on", "PowerOnDuration", 0, ua.VariantType.UInt32)
        spindle = await folder(monitoring, "Spindle")
        await var(spindle, "speed", "ActualSpeed", 0.0, ua.VariantType.Double)
        await var(spindle, "spindle_override", "Override", 100.0, ua.VariantType.Double)
        await var(spindle, "rotating", "IsRotating", False, ua.VariantType.Boolean)
        channel = await folder(monitoring, "Channel1")
        await var(channel, "channel_state", "ChannelState", "Reset", ua.VariantType.String)
        await var(channel, "feed_override", "FeedOverride", 100.0, ua.VariantType.Double)
        production = await folder(machine, "Production")
        program = await folder(production, "ActiveProgram")
        await var(program, "program", "Name", "", ua.VariantType.String)
        await var(program, "program_state", "State", "Ended", ua.VariantType.String)
        counters = await folder(production, "Counters")
        for key, name in (("parts", "PartsProduced"), ("good", "PartsGood"),
                          ("scrap", "PartsScrap")):
            await var(counters, key, name, 0, ua.VariantType.UInt32)
        notifications = await folder(machine, "Notifications")
        await var(notifications, "alarm", "AlarmActive", False, ua.VariantType.Boolean)
        await var(notifications, "alarm_text", "AlarmText", "", ua.VariantType.String)

    def values(self) -> dict[str, tuple[Any, ua.VariantType]]:
        c = self.cnc
        return {
            "item_state": (ITEM_STATES[c.execution], ua.VariantType.String),
            "mode": (c.operation_mode, ua.VariantType.String),
            "power": (round(c.load_w, 1), ua.VariantType.Double),
            "power_on": (int(c.powered_s // 3600), ua.VariantType.UInt32),
            "speed": (round(c.spindle_rpm, 1), ua.VariantType.Double),
            "spindle_override": (c.spindle_override_pct, ua.VariantType.Double),
            "rotating": (c.spindle_rpm > 0, ua.VariantType.Boolean),
            "channel_state": (CHANNEL_STATES[c.execution], ua.VariantType.String),
            "feed_override": (c.feed_override_pct, ua.VariantType.Double),
            "parts": (c.parts, ua.VariantType.UInt32),
            "good": (c.parts_good, ua.VariantType.UInt32),
            "scrap": (c.parts_scrap, ua.VariantType.UInt32),
            "program": (c.program, ua.VariantType.String),
            "program_state": (c.program_state, ua.VariantType.String),
            "alarm": (c.execution == "ALARM", ua.VariantType.Boolean),
            "alarm_text": (c.alarm_text, ua.VariantType.String),
        }

    async def _run(self) -> None:
        written: dict[str, Any] = {}
        while True:
            now = datetime.now(UTC)
            for key, (value, variant) in self.values().items():
                if written.get(key) != value:
                    await self._write(key, ua.Variant(value, variant), now)
                    written[key] = value
            await asyncio.sleep(self.interval_s)
            self.cnc.step(self.interval_s * self.speed)


    async def _write(self, key: str, value: Any, stamp: datetime) -> None:
        await self._vars[key].write_value(
            ua.DataValue(value, SourceTimestamp=stamp, ServerTimestamp=stamp))
