"""The Modbus profiles without a network: the Eastron docstring's registers, block
planning, word order and scale of a register map, and what a bad answer says."""

from __future__ import annotations

import re
import struct

import pytest
from pydantic import TypeAdapter, ValidationError

from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles import Source
from gateways.profiles.modbus import eastron
from gateways.profiles.modbus.registers import ModbusSourceBase, RegisterDecoder, blocks
from tests.profiles.helpers import values


def decoder(source: dict[str, object]) -> RegisterDecoder:
    model = TypeAdapter(Source).validate_python(source)
    assert isinstance(model, ModbusSourceBase)
    return model.decoder("bxl", "compressor")


def documented() -> dict[int, list[int]]:
    """Address -> the two words the docstring shows for it."""
    return {int(address, 16): [int(high, 16), int(low, 16)] for address, high, low in
            re.findall(r"(0x[0-9A-F]{4})  .*?(0x[0-9A-F]{4}) (0x[0-9A-F]{4}) =",
                       eastron.__doc__ or "")}


def test_an_sdm120_block_as_the_protocol_document_shows_it() -> None:
    sdm120 = decoder({"endpoint": "modbus+tcp://192.0.2.40", "profile": "sdm120", "unit": 2})
    assert list(sdm120.blocks) == ["input:0:14", "input:70:6"]
    words = documented()
    first = [0] * 14
    for address in (0x0000, 0x0006, 0x000C):
        first[address:address + 2] = words[address]
    assert values(sdm120.decode_value("input:0:14", first, 1)) == pytest.approx({
        "voltage_v": 230.4, "current_a": 6.6, "power_w": 1520.5})
    second = words[0x0046] + words[0x0048] + [0, 0]
    assert values(sdm120.decode_value("input:70:6", second, 1)) == pytest.approx({
        "frequency_hz": 50.0, "energy_kwh": 12345.67, "energy_export_kwh": 0.0})


def test_an_sdm630_is_read_in_three_requests() -> None:
    assert [b.key for b in blocks(eastron.SDM630)] == ["input:0:18", "input:42:34",
                                                       "input:346:6"]


def test_a_register_map_with_word_order_scale_and_unit() -> None:
    device = decoder({"endpoint": "modbus+tcp://192.0.2.40:1502", "profile": "modbus",
                      "registers": [
                          {"address": 10, "function": "holding", "type": "uint32",
                           "word_order": "little", "scale": 0.01, "signal": "energy_kwh"},
                          {"address": 12, "function": "holding", "type": "int16",
                           "scale": 0.1, "signal": "power_w", "unit": "kW"}]})
    high, low = divmod(1_234_567, 65536)  # 12,345.67 kWh in hundredths
    readings = device.decode_value("holding:10:3", [low, high, (-25) & 0xFFFF], 1)
    assert values(readings) == pytest.approx({"energy_kwh": 12345.67, "power_w": -2500.0})


def test_bad_answers_say_what_was_expected() -> None:
    sdm120 = decoder({"endpoint": "modbus+tcp://192.0.2.40", "profile": "sdm120"})
    with pytest.raises(DecodeError, match=r"input:0:14: expected 14 registers"):
        sdm120.decode_value("input:0:14", [1, 2, 3], 1)
    with pytest.raises(DecodeError, match=r"input:9:1: not a register block"):
        sdm120.decode_value("input:9:1", [1], 1)
    nan = list(struct.unpack(">2H", struct.pack(">f", float("nan"))))
    with pytest.raises(PartialDecode, match="register 0 \\(voltage_v\\) holds nan") as caught:
        sdm120.decode_value("input:0:14", nan + [0] * 12, 1)
    assert {r.signal for r in caught.value.readings} == {"current_a", "power_w"}


@pytest.mark.parametrize(("source", "error"), [
    ({"endpoint": "http://192.0.2.40", "profile": "sdm630"}, "endpoint"),
    ({"endpoint": "modbus+tcp://192.0.2.40", "profile": "sdm630", "unit": 300}, "unit"),
    ({"endpoint": "modbus+rtu:///dev/ttyUSB0?baudrate=9600", "profile": "modbus",
      "registers": [{"address": 0, "signal": "job_name"}]}, "not a numeric canonical"),
])
def test_a_bad_source_is_refused_naming_the_field(source: dict[str, object],
                                                  error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        TypeAdapter(Source).validate_python(source)
