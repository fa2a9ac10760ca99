"""Simulated Eastron SDM630 three-phase meters served over Modbus TCP by pymodbus's own
server, one unit id each on one port, so the edge reads them through the real protocol
stack. Each read is answered from the meter's state at that moment: the registers are
the ones the SDM630 documents (gateways/profiles/modbus/eastron.py), float32 in two
big-endian words; an address the meter does not have is answered with exception 2
(illegal data address), as a real one does.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from functools import partial
from typing import Any

from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from gateways.profiles.modbus.eastron import SDM630
from simulators.meter import SimulatedMeter
from simulators.mqtt_publisher import Message

REGISTERS = 0x0160
"""Registers served from address 0: through the last per-phase energy (0x015E)."""
SHARES = (0.36, 0.33, 0.31)
"""How the load spreads over the three phases."""


def sdm630_registers(meter: SimulatedMeter) -> list[int]:
    """The meter's state as an SDM630's input registers."""
    power, volts = meter.power_w, meter.voltage_v
    kwh = meter.counter_wh / 1000
    values: dict[str, float] = {"voltage_v": volts, "current_a": round(power / volts, 3),
                                "power_w": power, "frequency_hz": 50.0, "energy_kwh": kwh,
                                "energy_export_kwh": 0.0}
    for phase, share in enumerate(SHARES, 1):
        values[f"voltage_l{phase}_v"] = round(volts + (phase - 2) * 0.7, 1)
        values[f"current_l{phase}_a"] = round(power * share / volts, 3)
        values[f"power_l{phase}_w"] = round(power * share, 1)
        values[f"energy_l{phase}_kwh"] = kwh * share
    words = [0] * REGISTERS
    for register in SDM630:
        words[register.address:register.address + 2] = struct.unpack(
            ">2H", struct.pack(">f", values[register.signal]))
    return words


class ModbusMeters:
    """Meters by unit id, on 127.0.0.1:``port`` (Modbus TCP) or on a serial line
    (``serial_port``: Modbus RTU at 9600 baud, 8N1)."""

    def __init__(self, meters: dict[int, SimulatedMeter], port: int,
                 serial_port: str | None = None) -> None:
        self.meters, self.port, self.serial_port = meters, port, serial_port
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._task: asyncio.Task[None] | None = None

    def endpoint(self, line: str | None = None) -> str:
        """What the edge's config says; ``line``: the edge's end of the serial line."""
        if self.serial_port is not None:
            return f"modbus+rtu://{line or self.serial_port}?baudrate=9600"
        return f"modbus+tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        devices = [SimDevice(unit, simdata=[SimData(0, count=REGISTERS, values=0,
                                                    datatype=DataType.REGISTERS)],
                             action=partial(self._answer, meter))
                   for unit, meter in self.meters.items()]
        self._server = (ModbusSerialServer(devices, port=self.serial_port, baudrate=9600)
                        if self.serial_port is not None
                        else ModbusTcpServer(devices, address=("127.0.0.1", self.port)))
        self._task = asyncio.create_task(self._server.serve_forever())

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = self._task = None

    @staticmethod
    async def _answer(meter: SimulatedMeter, function_code: int, start_address: int,
                      address: int, count: int, registers: list[int],
                      set_values: Any) -> None:
        registers[:REGISTERS] = sdm630_registers(meter)


class ModbusMeterDevice:
    """A meter of the fleet that is read over Modbus, not published: its source entry."""

    profile = "sdm630"

    def __init__(self, meter: SimulatedMeter, server: ModbusMeters, unit: int,
                 offline_state: bool) -> None:
        self.meter, self.server, self.unit = meter, server, unit
        self.offline_state = offline_state

    def source(self) -> dict[str, Any]:
        return {"endpoint": self.server.endpoint(), "profile": "sdm630", "unit": self.unit,
                "meter": self.meter.meter, "poll_interval_s": 1.0,
                "offline_state": self.offline_state}

    def messages(self, now_s: float) -> list[Message]:
        return []
