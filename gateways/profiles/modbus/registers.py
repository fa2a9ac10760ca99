"""Modbus devices with a register map of their own (profile ``modbus``): any meter,
inverter or controller whose registers are documented.

Every entry says where a value is and how it is written::

    [[machines.sources]]
    endpoint = "modbus+tcp://192.0.2.40:502"      # or "modbus+rtu:///dev/ttyUSB0?baudrate=9600"
    profile = "modbus"
    unit = 3
    registers = [
      { address = 0x0000, function = "input", type = "float32", signal = "voltage_v" },
      { address = 0x0012, function = "holding", type = "uint32", word_order = "little",
        scale = 0.01, signal = "energy_kwh" },
      { address = 0x0020, type = "int16", scale = 0.1, signal = "power_w", unit = "kW" },
    ]

A poll reads each contiguous block of registers with one request (blocks grow over gaps
of up to ``MAX_GAP`` registers, never past ``MAX_REGISTERS``); the block's registers, as
the device answered, are what a recording holds, so a replay decodes them again.
Registers are big-endian 16-bit words (the Modbus standard); ``word_order`` says which
word of a 32- or 64-bit value comes first. Energy goes through the same counter logic as
the plugs' (resets, wraps, replaced meters).
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from contract.addresses import ModbusEndpoint
from contract.model import Identifier, StrictModel
from contract.reading import Reading
from contract.schema import SIGNALS
from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles.base import DecoderBase, Profile, ValueSourceBase

if TYPE_CHECKING:
    from contract.counters import Counters
    from gateways.gateway import Gateway, ValueDecoder

MAX_REGISTERS = 125
"""The most registers one read may ask for (Modbus application protocol, 6.4)."""
MAX_GAP = 16
"""Registers between two wanted ones that are read rather than asked for separately."""
RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64"]
WORDS = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}
FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f",
           "float64": ">d"}


class Register(StrictModel):
    address: int = Field(ge=0, le=0xFFFF)
    """The first register, counted from 0 (input register 30001 is address 0)."""
    function: Literal["input", "holding"] = "input"
    """input (function code 4) or holding (3) registers."""
    type: RegisterType = "float32"
    """How the value is written: int16, uint16, int32, uint32, float32 or float64."""
    word_order: Literal["big", "little"] = "big"
    """Which 16-bit word of a longer value comes first: big (the high word, as Eastron,
    ABB and most meters) or little."""
    scale: float = 1.0
    """The value is multiplied by this (e.g. 0.01 for a counter in hundredths of kWh)."""
    signal: str
    """The canonical signal it feeds (docs/schema.md)."""
    unit: str | None = None
    """The unit after scaling, when it is not the signal's own (e.g. "kW", "Wh")."""

    @model_validator(mode="after")
    def _known_signal(self) -> Register:
        spec = SIGNALS.get(self.signal)
        if spec is None or spec.field.type == "string":
            raise ValueError(f"signal: {self.signal!r} is not a numeric canonical signal")
        return self

    @property
    def words(self) -> int:
        return WORDS[self.type]


class ModbusSourceBase(ValueSourceBase):
    """A Modbus device read by polling."""

    transport: ClassVar[str] = "modbus"
    endpoint: ModbusEndpoint
    """``modbus+tcp://HOST:PORT`` (port 502 by default) or
    ``modbus+rtu:///dev/ttyUSB0?baudrate=9600&parity=N&stopbits=1`` (RS-485)."""
    unit: int = Field(default=1, ge=0, le=247)
    """The device's unit id (slave address) on its bus or gateway."""
    poll_interval_s: float = Field(default=5.0, gt=0)
    """How often every register block is read."""
    timeout_s: float = Field(default=3.0, gt=0)
    """Per request; no answer counts as an error, three in a row reconnect."""
    reconnect_min_s: float = Field(default=1.0, gt=0)
    """Backoff after a lost connection, doubling up to reconnect_max_s."""
    reconnect_max_s: float = Field(default=30.0, gt=0)
    """The backoff's cap."""
    meter: Identifier | None = None
    """Meter id for its readings (the ``meter`` tag); the machine id when not given."""
    offline_state: bool = True
    """A device that stops answering marks the machine offline; false when the machine
    reports its own state."""

    def register_map(self) -> list[Register]:
        raise NotImplementedError

    def decoder(self, site: str, machine: str) -> RegisterDecoder:
        return RegisterDecoder(site, machine, self.meter, self.register_map(),
                               self.offline_state)

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        from gateways.transports.modbus import ModbusGateway

        assert isinstance(decoder, RegisterDecoder)
        return ModbusGateway(self, route, decoder, counters)


class ModbusSource(ModbusSourceBase):
    profile: Literal["modbus"]
    registers: list[Register] = Field(min_length=1)
    """The registers to read and the signal each feeds."""

    def register_map(self) -> list[Register]:
        return list(self.registers)


class Block(StrictModel):
    """Registers read with one request; its key names it in recordings."""

    function: Literal["input", "holding"]
    address: int
    count: int

    @property
    def key(self) -> str:
        return f"{self.function}:{self.address}:{self.count}"


def blocks(registers: list[Register]) -> list[Block]:
    """The fewest reads that cover every register: contiguous runs, grown over small
    gaps, each within what one request may ask for."""
    found: list[Block] = []
    for function in ("input", "holding"):
        spans = sorted((r.address, r.address + r.words) for r in registers
                       if r.function == function)
        start = end = -1
        for first, last in spans:
            if start >= 0 and first - end <= MAX_GAP and max(end, last) - start <= MAX_REGISTERS:
                end = max(end, last)
                continue
            if start >= 0:
                found.append(Block(function=function, address=start, count=end - start))
            start, end = first, last
        if start >= 0:
            found.append(Block(function=function, address=start, count=end - start))
    return found


def number(words: list[int], register: Register) -> float:
    """The register's value from its words (big-endian 16-bit each)."""
    if register.word_order == "little":
        words = words[::-1]
    raw = struct.unpack(FORMATS[register.type], struct.pack(f">{len(words)}H", *words))[0]
    return float(raw) * register.scale


class RegisterDecoder(DecoderBase):
    """A block's registers -> readings of the signals mapped in it."""

    def __init__(self, site: str, machine: str, meter: str | None, registers: list[Register],
                 offline_state: bool) -> None:
        super().__init__(site, machine, meter)
        self.registers, self.offline_state = registers, offline_state
        self.blocks = {block.key: block for block in blocks(registers)}
        self._inside = {key: [r for r in registers if r.function == block.function
                              and block.address <= r.address < block.address + block.count]
                        for key, block in self.blocks.items()}

    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        block = self.blocks.get(key)
        if block is None:
            raise DecodeError(f"{key}: not a register block of this map "
                              f"(blocks: {', '.join(self.blocks)})")
        if not isinstance(value, list) or len(value) != block.count or not all(
                isinstance(word, int) and 0 <= word <= 0xFFFF for word in value):
            raise DecodeError(f"{key}: expected {block.count} registers (0..65535), got "
                              f"{value!r:.60}")
        readings, problems = [], []
        for register in self._inside[key]:
            offset = register.address - block.address
            amount = number(value[offset:offset + register.words], register)
            if math.isfinite(amount):
                readings.append(self.reading(register.signal, amount, time_ns, register.unit))
            else:
                problems.append(f"register {register.address} ({register.signal}) holds "
                                f"{amount}")
        if problems:  # the others are good
            raise PartialDecode(f"{key}: {'; '.join(problems)}", readings)
        return readings

    def offline(self, time_ns: int) -> list[Reading]:
        return [self.reading("state", "offline", time_ns)] if self.offline_state else []


PROFILE = Profile(ModbusSource, fuzz=(("input:0:4", {
    "endpoint": "modbus+tcp://127.0.0.1:502",
    "registers": [{"address": 0, "signal": "voltage_v"},
                  {"address": 2, "type": "int32", "word_order": "little", "scale": 0.01,
                   "signal": "energy_kwh"}]}),))
