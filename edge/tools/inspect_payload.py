"""``circlemade decode``: what the edge makes of one device payload, for integrators.

The readings are shown as they will be stored: converted to the signal's canonical unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from contract.errors import BadInput
from contract.reading import Reading
from contract.schema import SIGNALS
from contract.units import converter
from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles import SOURCE_MODELS, MqttSource


class InspectError(BadInput):
    pass


def decode_payload(profile: str, topic: str, payload: bytes, machine: str | None = None,
                   site: str = "inspect") -> tuple[list[Reading], str | None]:
    """Readings of ``payload`` and a warning (e.g. a sequence gap) if there was one."""
    model = SOURCE_MODELS[profile]
    source: dict[str, Any] = {"profile": profile, "topic": topic}
    if profile == "sparkplug_b" and len(topic.split("/")) == 5:
        source["device"] = topic.split("/")[4]
    try:
        decoder = TypeAdapter(MqttSource).validate_python(source).decoder(
            site, machine or model.machine_from_topic(topic) or "unknown")
    except ValidationError as exc:
        raise InspectError(f"topic {topic!r}: {exc.errors()[0]['msg']}") from None
    try:
        return decoder.decode(topic, payload, _now_ns()), None
    except PartialDecode as exc:
        return exc.readings, str(exc)
    except DecodeError as exc:
        raise InspectError(f"{profile} payload on {topic!r}: {exc}") from None


def as_json_line(reading: Reading) -> str:
    spec = SIGNALS.get(reading.signal)
    value: float | str = reading.value
    unit = reading.unit
    if spec is not None and not isinstance(value, str):
        value = converter(reading.unit, spec.unit)(value)
        unit = spec.unit
    time = datetime.fromtimestamp(reading.time_ns / 1e9, UTC).isoformat(timespec="microseconds")
    return orjson.dumps({"machine": reading.machine, "signal": reading.signal, "value": value,
                         "unit": unit, "time": time.replace("+00:00", "Z")}).decode()


def _now_ns() -> int:
    return int(datetime.now(UTC).timestamp() * 1e9)
