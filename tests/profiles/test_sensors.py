"""The sensors' profiles without a network, on the payloads their docstrings show:
ESPHome's state topics (a sound level meter, an air board), Zigbee2MQTT's JSON (an IKEA
VINDSTYRKA) and the AirGradient local API (its documentation's answer); availability
and what a wrong payload says."""

from __future__ import annotations

import pytest

from gateways.decoding import DecodeError
from gateways.profiles import airgradient, esphome, zigbee2mqtt
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values


def topic_lines(doc: str | None) -> list[tuple[str, str]]:
    """(topic, payload) of each line of the docstring's example block."""
    block = literal_blocks(doc or "")[0]
    lines: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line.startswith(" "):  # a payload's continuation
            topic, payload = lines[-1]
            lines[-1] = (topic, f"{payload} {line.strip()}")
        else:
            topic, _, payload = line.partition(" ")
            lines.append((topic, payload.strip()))
    return lines


def test_esphome_state_topics_to_sound_and_air() -> None:
    decoder = decoder_for({"profile": "esphome", "topic": "facade-noise/#", "sensors": {
        "laeq_1min": {"signal": "sound_dba"}, "pm_2_5": {"signal": "pm2_5_ugm3"},
        "voc_index": {"signal": "voc_index"}}})
    found = {}
    for topic, payload in topic_lines(esphome.__doc__):
        found.update(values(decoder.decode(topic, payload.encode(), 1)))
    assert found == {"sound_dba": 57.31, "pm2_5_ugm3": 12.4, "voc_index": 131.0}
    assert values(decoder.decode("facade-noise/status", b"offline", 2)) == {"state": "offline"}
    assert decoder.decode("facade-noise/sensor/laeq_1min/state", b"nan", 3) == []
    with pytest.raises(DecodeError, match="laeq_1min: expected a number"):
        decoder.decode("facade-noise/sensor/laeq_1min/state", b"loud", 4)


def test_zigbee2mqtt_vindstyrka_and_its_availability() -> None:
    decoder = decoder_for({"profile": "zigbee2mqtt", "topic": "zigbee2mqtt/air-laser/#"})
    (state, availability) = topic_lines(zigbee2mqtt.__doc__)
    assert values(decoder.decode(state[0], state[1].encode(), 1)) == {
        "humidity_pct": 41.0, "pm2_5_ugm3": 11.0, "temperature_c": 21.4, "voc_index": 122.0}
    assert values(decoder.decode(availability[0], availability[1].encode(), 2)) == {
        "state": "offline"}
    assert decoder.decode("zigbee2mqtt/air-laser/availability", b"online", 3) == []


def test_airgradient_documented_answer() -> None:
    (answer,) = literal_blocks(airgradient.__doc__ or "")
    decoder = airgradient.AirGradientDecoder("bxl", "air")
    assert values(decoder.decode_value("current", answer, 1)) == pytest.approx({
        "co2_ppm": 447.0, "pm1_ugm3": 3.0, "pm2_5_ugm3": 7.0, "pm10_ugm3": 8.0,
        "particles_03_per_dl": 442.0, "temperature_c": 25.87, "humidity_pct": 43.0,
        "voc_index": 100.0, "nox_index": 1.0})
    with pytest.raises(DecodeError, match="current: expected a JSON object"):
        decoder.decode_value("current", "[1, 2]", 2)
