from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles import MqttSource, generic_json
from tests.profiles.docstring_examples import literal_blocks

PAYLOAD, SOURCE = literal_blocks(generic_json.__doc__ or "")


def decoder_for(source: dict[str, Any]) -> generic_json.JsonDecoder:
    model = TypeAdapter(MqttSource).validate_python(source)
    assert isinstance(model, generic_json.JsonSource)
    return model.decoder("bxl", "laser-01")


def documented_decoder() -> generic_json.JsonDecoder:
    return decoder_for(tomllib.loads(SOURCE)["machines"]["sources"][0])


def test_the_documented_example_decodes_as_documented() -> None:
    readings = documented_decoder().decode("workshop/laser-01/status", PAYLOAD.encode(), 0)
    t = int(datetime(2025, 11, 22, 12, 0, 0, 250_000, tzinfo=UTC).timestamp() * 1e9)
    assert readings == [
        Reading("bxl", "laser-01", "state", "running", None, t),
        Reading("bxl", "laser-01", "chamber_temp_c", 71.6, "degF", t),
        Reading("bxl", "laser-01", "power_w", 812.5, None, t),
        Reading("bxl", "laser-01", "energy_kwh", 15234.0, "Wh", t),
    ]


def test_partial_updates_give_what_is_there_and_arrival_time_without_ts() -> None:
    readings = documented_decoder().decode("t", b'{"power": 10}', 42)
    assert readings == [Reading("bxl", "laser-01", "power_w", 10.0, None, 42)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"unrelated": 1}', "none of the configured paths is in the message"),
        (b'{"power": "lots"}', "power: expected a number, got 'lots'"),
        (b'{"state": "exploding"}', "state: unknown state 'exploding'; mapped are cutting, ready"),
        (b'{"ts": "noon", "power": 1}', "time at ts: expected a number (unix_s), got 'noon'"),
    ],
)
def test_bad_payloads_say_what_was_expected(payload: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        documented_decoder().decode("t", payload, 0)


def test_array_paths_numeric_strings_and_iso_time() -> None:
    decoder = decoder_for({
        "topic": "x", "profile": "json", "meter": "m1",
        "time": {"path": "at", "format": "iso8601"},
        "fields": [{"path": "tools[1].temp", "signal": "nozzle_temp_c"},
                   {"path": "w", "signal": "power_w"}],
    })
    payload = b'{"at": "2026-01-02T03:04:05.5+01:00", "tools": [{}, {"temp": 200}], "w": "7.5"}'
    t = int(datetime(2026, 1, 2, 2, 4, 5, 500_000, tzinfo=UTC).timestamp() * 1e9)
    assert decoder.decode("x", payload, 0) == [
        Reading("bxl", "laser-01", "nozzle_temp_c", 200.0, None, t, "m1"),
        Reading("bxl", "laser-01", "power_w", 7.5, None, t, "m1"),
    ]


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a[x]", "a[1"])
def test_malformed_paths_are_refused_in_the_config(path: str) -> None:
    with pytest.raises(ValueError, match="malformed JSON path"):
        decoder_for({"topic": "x", "profile": "json",
                     "fields": [{"path": path, "signal": "power_w"}]})
