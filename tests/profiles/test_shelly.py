from __future__ import annotations

import pytest

from gateways.profiles import DecodeError, shelly
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values

GEN1, GEN2 = literal_blocks(shelly.__doc__ or "")[:2]


def test_the_documented_gen1_topics() -> None:
    decoder = decoder_for({"topic": "shellies/shellyplug-s-C8C9A3/#", "profile": "shelly"})
    decoded = []
    for line in GEN1.splitlines():
        topic, payload = line.split()[:2]
        decoded.append(values(decoder.decode(topic, payload.encode(), 1)))
    assert decoded == [{"power_w": 127.43}, {"energy_kwh": pytest.approx(48.7302)}, {},
                       {"state": "offline"}]


def test_the_documented_gen2_notification() -> None:
    decoder = decoder_for({"topic": "shellyplusplugs-e465b8b1c2d0/#", "profile": "shelly"})
    readings = decoder.decode("shellyplusplugs-e465b8b1c2d0/events/rpc", GEN2.encode(), 1)
    assert values(readings) == {"power_w": 127.4, "voltage_v": 231.2, "current_a": 0.601,
                                "energy_kwh": pytest.approx(48.731112)}
    assert {r.time_ns for r in readings} == {1763812800410000000}


def test_gen2_status_topic_and_switch_off() -> None:
    decoder = decoder_for({"topic": "plug/#", "profile": "shelly"})
    readings = decoder.decode("plug/status/switch:0",
                              b'{"id": 0, "output": false, "apower": 0.0}', 5)
    assert values(readings) == {"power_w": 0.0, "state": "offline"}
    assert decoder.decode("plug/status/switch:1", b'{"apower": 1}', 5) == []


def test_bad_payloads_say_what_was_expected() -> None:
    decoder = decoder_for({"topic": "shellies/p/#", "profile": "shelly"})
    with pytest.raises(DecodeError, match="relay/0/power: expected a number, got 'n/a'"):
        decoder.decode("shellies/p/relay/0/power", b"n/a", 1)
    with pytest.raises(DecodeError, match="switch:0.apower: expected a number"):
        decoder.decode("p/events/rpc",
                       b'{"method": "NotifyStatus", "params": {"switch:0": {"apower": []}}}', 1)
