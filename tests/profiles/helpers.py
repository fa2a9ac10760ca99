"""Shared by the profile tests: build a decoder from a source dict, and compare readings
without the site, meter and unit noise."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from contract.reading import Reading
from gateways.profiles import Decoder, MqttSource

SITE, MACHINE = "bxl", "m1"


def decoder_for(source: dict[str, Any]) -> Decoder:
    return TypeAdapter(MqttSource).validate_python(source).decoder(SITE, MACHINE)


def values(readings: list[Reading]) -> dict[str, float | str]:
    """signal -> value, converted to canonical units as the normaliser will."""
    from contract.schema import SIGNALS
    from contract.units import converter

    out: dict[str, float | str] = {}
    for r in readings:
        if isinstance(r.value, str):
            out[r.signal] = r.value
        else:
            out[r.signal] = converter(r.unit, SIGNALS[r.signal].unit)(r.value)
    return out
