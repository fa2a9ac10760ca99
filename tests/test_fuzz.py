"""Fuzzing with hypothesis: every payload profile and the config loader take anything
without crashing: a reading list or a DecodeError / ConfigError that says why."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from contract.reading import Reading
from edge.service.config import parse_config
from edge.service.config_problems import ConfigError
from gateways.profiles import PROFILES, Source, ValueSourceBase
from tests.profiles.helpers import decoder_for

CASES = [(name, topic, {**source, "profile": name})
         for name, profile in PROFILES.items() for topic, source in profile.fuzz]
"""Every profile's declared fuzz cases (gateways/profiles/base.py, Profile.fuzz)."""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=15), children, max_size=6),
    max_leaves=40)

vendor_keys = st.sampled_from(["print", "ENERGY", "status", "params", "switch:0", "Total",
                               "Power", "nozzle_temper", "gcode_state", "actual", "apower",
                               "aenergy", "print_stats", "extruder", "method", "a", "s"])
shaped = st.recursive(json_values, lambda children: st.dictionaries(
    vendor_keys, children, max_size=6), max_leaves=30)


def payloads() -> st.SearchStrategy[bytes]:
    def dump(value: Any) -> bytes:
        try:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            return b"{}"

    return st.one_of(
        st.binary(max_size=300),
        json_values.map(dump), shaped.map(dump),
        st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.just(b'{"print": {"nozzle_temper": NaN}}'), st.just("é".encode("latin-1")),
        st.just(b'{"ENERGY": {"Power": 1e400}}'), st.just(b"\xff\xfe{\x00\"a\x00"),
    )


@pytest.mark.parametrize(("name", "topic", "source"), CASES,
                         ids=[f"{name}:{topic}" for name, topic, _ in CASES])
def test_profiles_never_crash(name: str, topic: str, source: dict[str, Any]) -> None:
    """A message profile takes any payload, a value profile any value of any key."""
    model = TypeAdapter(Source).validate_python(source)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(payloads(), json_values)
    def decoded(payload: bytes, value: Any) -> None:
        try:
            if isinstance(model, ValueSourceBase):
                readings = model.decoder("s", "m").decode_value(topic, value, 1)
            else:
                readings = model.decoder("s", "m").decode(topic, payload, 1)
        except ValueError as exc:  # DecodeError, or a value a value profile cannot take
            assert str(exc)  # says why
            return
        assert all(isinstance(r, Reading) for r in readings)

    decoded()


def test_every_profile_is_fuzzed() -> None:
    assert {name for name, _, _ in CASES} == set(PROFILES)


def test_a_huge_payload_is_decoded_or_refused_quickly() -> None:
    decoder = decoder_for([source for name, _, source in CASES if name == "json"][-1])
    big = orjson.dumps({"a": {"b": [1.0]}, "pad": "x" * 5_000_000})
    assert decoder.decode("x", big, 1)[0].value == 1.0


config_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["site", "id", "influx", "api", "url", "machines", "sources",
                         "topic", "profile", "kind", "brokers", "port", "fields", "token",
                         "calendar", "shifts", "start", "buffer", "x"]), children, max_size=5),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(config_values)
def test_config_loader_never_crashes(raw: Any) -> None:
    if not isinstance(raw, dict):
        raw = {"site": raw}
    try:
        parse_config(raw)
    except ConfigError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
