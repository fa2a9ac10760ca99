"""Eastron SDM120 (one phase) and SDM630 (three phases) DIN-rail energy meters over
Modbus RTU (RS-485, often through a Modbus TCP gateway): profiles ``sdm120`` and
``sdm630``; the endpoint and the unit id are all the config needs.

Input registers (function 4), each value a float32 in two big-endian words, as Eastron's
protocol documents list them (address counted from 0; 30001 is 0)::

    30001  0x0000  phase 1 voltage to neutral  V     0x4366 0x6666 = 230.4
    30007  0x0006  phase 1 current             A     0x40D3 0x3333 = 6.6
    30013  0x000C  phase 1 active power        W     0x44BE 0x1000 = 1520.5
    30071  0x0046  frequency                   Hz    0x4248 0x0000 = 50.0
    30073  0x0048  total import active energy  kWh   0x4640 0xE6AE = 12345.67
    30075  0x004A  total export active energy  kWh

The SDM630 adds phases 2 and 3 (voltages 0x0002, 0x0004; currents 0x0008, 0x000A;
powers 0x000E, 0x0010), the mean voltage to neutral (0x002A), the sum of the currents
(0x0030), the total system power (0x0034) and each phase's import energy (0x015A,
0x015C, 0x015E). They map to ``voltage_v``, ``current_a``, ``power_w``, ``frequency_hz``,
``energy_kwh`` (import: what the machine used), ``energy_export_kwh`` and the per-phase
``voltage_l1_v`` ... ``energy_l3_kwh`` (docs/schema.md). A poll is three requests on an
SDM630, two on an SDM120 (gateways/profiles/modbus/registers.py).
"""

from __future__ import annotations

from typing import Literal

from gateways.profiles.base import Profile
from gateways.profiles.modbus.registers import ModbusSourceBase, Register


def _map(*entries: tuple[int, str]) -> list[Register]:
    return [Register(address=address, signal=signal) for address, signal in entries]


SDM120 = _map((0x0000, "voltage_v"), (0x0006, "current_a"), (0x000C, "power_w"),
              (0x0046, "frequency_hz"), (0x0048, "energy_kwh"), (0x004A, "energy_export_kwh"))
SDM630 = _map(
    (0x0000, "voltage_l1_v"), (0x0002, "voltage_l2_v"), (0x0004, "voltage_l3_v"),
    (0x0006, "current_l1_a"), (0x0008, "current_l2_a"), (0x000A, "current_l3_a"),
    (0x000C, "power_l1_w"), (0x000E, "power_l2_w"), (0x0010, "power_l3_w"),
    (0x002A, "voltage_v"), (0x0030, "current_a"), (0x0034, "power_w"),
    (0x0046, "frequency_hz"), (0x0048, "energy_kwh"), (0x004A, "energy_export_kwh"),
    (0x015A, "energy_l1_kwh"), (0x015C, "energy_l2_kwh"), (0x015E, "energy_l3_kwh"))


class Sdm120Source(ModbusSourceBase):
    profile: Literal["sdm120"]

    def register_map(self) -> list[Register]:
        return list(SDM120)


class Sdm630Source(ModbusSourceBase):
    profile: Literal["sdm630"]

    def register_map(self) -> list[Register]:
        return list(SDM630)


ENDPOINT = {"endpoint": "modbus+tcp://127.0.0.1:502"}
PROFILE = (Profile(Sdm120Source, fuzz=(("input:0:14", ENDPOINT), ("input:70:6", ENDPOINT))),
           Profile(Sdm630Source, fuzz=(("input:0:18", ENDPOINT), ("input:42:34", ENDPOINT),
                                      ("input:346:6", ENDPOINT))))
