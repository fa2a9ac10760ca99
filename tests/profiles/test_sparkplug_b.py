from __future__ import annotations

import tomllib
from typing import Any

import pytest

from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles import sparkplug_b
from gateways.profiles.sparkplug_b_payload import (
    DOUBLE,
    FLOAT,
    INT32,
    STRING,
    UINT64,
    Payload,
    add_metric,
)
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values

_, SOURCE_TOML = literal_blocks(sparkplug_b.__doc__ or "")
SOURCE = tomllib.loads(SOURCE_TOML)["machines"]["sources"][0]
NODE = "spBv1.0/atelier/{}/router-gw"
DEVICE = NODE + "/router-1"


def payload(seq: int, metrics: list[tuple[Any, ...]], timestamp: int = 1763812800500) -> bytes:
    message = Payload(timestamp=timestamp, seq=seq)
    for name, value, datatype, *alias in metrics:
        add_metric(message, name, value, datatype, alias=alias[0] if alias else None)
    return bytes(message.SerializeToString())


def born() -> Any:
    decoder = decoder_for(SOURCE)
    decoder.decode(NODE.format("NBIRTH"), payload(0, [("bdSeq", 0, UINT64)]), 1)
    decoder.decode(DEVICE.format("DBIRTH"), payload(1, [
        ("Spindle/Speed", 0.0, DOUBLE, 3), ("Execution", "READY", STRING, 4),
        ("Power/Active", 80.0, FLOAT, 5), ("Temperature/Cabinet", 31, INT32, 6)]), 1)
    return decoder


def test_the_documented_ddata_after_its_birth() -> None:
    decoder = born()
    message = Payload(timestamp=1763812800500, seq=2)
    add_metric(message, None, 18000.0, DOUBLE, alias=3, timestamp_ms=1763812800480)
    add_metric(message, None, "ACTIVE", STRING, alias=4)
    add_metric(message, "Power/Active", 2350.5, FLOAT)
    readings = decoder.decode(DEVICE.format("DDATA"), message.SerializeToString(), 1)
    assert [(r.signal, r.value, r.time_ns) for r in readings] == [
        ("spindle_speed_rpm", 18000.0, 1763812800480_000000),
        ("state", "running", 1763812800500_000000),
        ("power_w", 2350.5, 1763812800500_000000),
    ]


def test_birth_values_are_readings_and_unmapped_metrics_are_ignored() -> None:
    decoder = decoder_for(SOURCE)
    decoder.decode(NODE.format("NBIRTH"), payload(0, []), 1)
    readings = decoder.decode(DEVICE.format("DBIRTH"), payload(1, [
        ("Execution", "ALARM", STRING, 4), ("Temperature/Cabinet", -3, INT32, 6)]), 1)
    assert values(readings) == {"state": "fault"}


def test_data_before_birth_is_refused() -> None:
    decoder = decoder_for(SOURCE)
    with pytest.raises(DecodeError, match="DDATA from router-gw/router-1 before its DBIRTH"):
        decoder.decode(DEVICE.format("DDATA"), payload(5, [("Power/Active", 1.0, FLOAT)]), 1)


def test_a_sequence_gap_is_reported_but_the_data_kept() -> None:
    decoder = born()
    with pytest.raises(PartialDecode, match="sequence gap, expected seq 2, got 4") as caught:
        decoder.decode(DEVICE.format("DDATA"), payload(4, [(None, 7.0, DOUBLE, 3)]), 1)
    assert values(caught.value.readings) == {"spindle_speed_rpm": 7.0}


def test_death_marks_the_machine_offline_until_reborn() -> None:
    decoder = born()
    assert values(decoder.decode(NODE.format("NDEATH"), payload(0, []), 1)) == {"state": "offline"}
    with pytest.raises(DecodeError, match="before"):
        decoder.decode(DEVICE.format("DDATA"), payload(3, [(None, 7.0, DOUBLE, 3)]), 1)


def test_binary_garbage_and_foreign_topics() -> None:
    decoder = born()
    with pytest.raises(DecodeError, match="not a Sparkplug B protobuf payload"):
        decoder.decode(DEVICE.format("DDATA"), b"\xff\xff\xff\xff{json?", 1)
    with pytest.raises(DecodeError, match="not a Sparkplug B topic"):
        decoder.decode("spBv1.0/atelier/DSTATE/router-gw", b"", 1)
    with pytest.raises(DecodeError, match="alias 9 was not declared"):
        decoder.decode(DEVICE.format("DDATA"), payload(2, [(None, 1.0, DOUBLE, 9)]), 1)
