from __future__ import annotations

import pytest

from gateways.decoding import DecodeError
from gateways.profiles import shelly
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


def test_a_gen3_pm_mini_reports_pm1() -> None:
    pm1 = literal_blocks(shelly.__doc__ or "")[2]
    decoder = decoder_for({"topic": "shellypmminig3-84fce63e6c3c/#", "profile": "shelly"})
    readings = decoder.decode("shellypmminig3-84fce63e6c3c/events/rpc", pm1.encode(), 1)
    assert values(readings) == {"power_w": 109.6, "voltage_v": 230.9, "current_a": 0.512,
                                "energy_kwh": pytest.approx(3.822114)}
    status = decoder.decode("shellypmminig3-84fce63e6c3c/status/pm1:0",
                            b'{"id": 0, "apower": 12.5, "aenergy": {"total": 4000.0}}', 2)
    assert values(status) == {"power_w": 12.5, "energy_kwh": pytest.approx(4.0)}


def test_a_pro_em_reports_em1_and_its_counter_in_em1data() -> None:
    text = literal_blocks(shelly.__doc__ or "")[3]
    first, second = text.split('\n{"src"')
    decoder = decoder_for({"topic": "shellyproem50-08f9e0e6a1b4/#", "profile": "shelly"})
    topic = "shellyproem50-08f9e0e6a1b4/events/rpc"
    assert values(decoder.decode(topic, first.encode(), 1)) == {
        "power_w": 1893.2, "voltage_v": 231.4, "current_a": 8.412}
    counted = decoder.decode(topic, ('{"src"' + second).encode(), 1)
    assert values(counted) == {"energy_kwh": pytest.approx(1204.51933)}
