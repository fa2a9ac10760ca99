from __future__ import annotations

import pytest

from gateways.decoding import DecodeError
from gateways.profiles import tasmota
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values

(BLOCK,) = literal_blocks(tasmota.__doc__ or "")
SOURCE = {"topic": "tele/plug-mk4-01/+", "profile": "tasmota", "meter": "plug-mk4-01"}


def documented() -> dict[str, bytes]:
    messages: dict[str, str] = {}
    topic = ""
    for line in BLOCK.splitlines():
        if line.startswith("tele/"):
            topic, payload = line.split(None, 1)
            messages[topic] = payload
        else:
            messages[topic] += line.strip()
    return {t: p.encode() for t, p in messages.items()}


def test_the_documented_sensor_state_and_lwt() -> None:
    decoder = decoder_for(SOURCE)
    messages = documented()
    sensor = decoder.decode("tele/plug-mk4-01/SENSOR", messages["tele/plug-mk4-01/SENSOR"], 3)
    assert values(sensor) == {"energy_kwh": 48.731, "power_w": 127.0, "voltage_v": 231.0,
                              "current_a": 0.601}
    assert {r.meter for r in sensor} == {"plug-mk4-01"}
    assert decoder.decode("tele/plug-mk4-01/STATE", messages["tele/plug-mk4-01/STATE"], 3) == []
    assert values(decoder.decode("tele/plug-mk4-01/LWT", b"Offline", 3)) == {"state": "offline"}
    assert decoder.decode("tele/plug-mk4-01/LWT", b"Online", 3) == []


def test_multi_channel_devices_and_the_offline_switch() -> None:
    decoder = decoder_for({**SOURCE, "channel": 1, "offline_state": False})
    payload = b'{"ENERGY": {"Total": 3.5, "Power": [10, 20]}}'
    assert values(decoder.decode("tele/x/SENSOR", payload, 1)) == {"energy_kwh": 3.5,
                                                                   "power_w": 20.0}
    assert decoder.decode("tele/x/LWT", b"Offline", 1) == []


def test_bad_payloads_say_what_was_expected() -> None:
    decoder = decoder_for(SOURCE)
    with pytest.raises(DecodeError, match="LWT: expected Online or Offline"):
        decoder.decode("tele/x/LWT", b"\x00\xff", 1)
    with pytest.raises(DecodeError, match="ENERGY.Power: expected a number"):
        decoder.decode("tele/x/SENSOR", b'{"ENERGY": {"Power": "lots"}}', 1)
    with pytest.raises(DecodeError, match="not JSON"):
        decoder.decode("tele/x/SENSOR", b'{"ENERGY": {"Pow', 1)
