"""Generic JSON: any device that publishes a JSON object, mapped field by field in the config.

Example payload (a DIY ESP32 logger on a laser cutter, one message per second)::

    {"ts": 1763812800.25, "state": "cutting",
     "tube": {"temp_f": 71.6}, "power": 812.5, "energy_wh": 15234.0}

with this source in the config::

    [[machines.sources]]
    topic = "workshop/laser-01/status"
    profile = "json"
    time = { path = "ts", format = "unix_s" }
    fields = [
      { path = "state", signal = "state", states = { cutting = "running", ready = "idle" } },
      { path = "tube.temp_f", signal = "chamber_temp_c", unit = "degF" },
      { path = "power", signal = "power_w" },
      { path = "energy_wh", signal = "energy_kwh", unit = "Wh" },
    ]

gives readings ``state=running``, ``chamber_temp_c=22.0`` (from 71.6 degF),
``power_w=812.5`` and ``energy_kwh=15.234``, timestamped 2025-11-22T12:00:00.25Z.
Paths missing from a message are skipped (devices often send partial updates); a
message with none of them, or a value of the wrong type, is a decode error. Without
``fields``, top-level keys named like canonical signals (``{"power_w": 12.5}``) are taken
as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from contract.machine_state import MachineState
from contract.model import StrictModel
from contract.reading import Reading
from contract.schema import SIGNALS
from gateways.decoding import DecodeError
from gateways.profiles.base import (
    LATEST_UNIX_S,
    DecoderBase,
    MqttSourceBase,
    Profile,
    SignalMapping,
    as_number,
    canonical_state,
    json_object,
)
from gateways.profiles.json_path import MISSING, Path, compile_path, lookup

TimeFormat = Literal["unix_s", "unix_ms", "unix_us", "unix_ns", "iso8601"]
_TIME_SCALE = {"unix_s": 1e9, "unix_ms": 1e6, "unix_us": 1e3, "unix_ns": 1.0}


class JsonField(SignalMapping):
    path: str
    """Where the value is in the JSON document, e.g. ``a.b[0]``."""

    @field_validator("path")
    @classmethod
    def _path_compiles(cls, path: str) -> str:
        compile_path(path)
        return path


class JsonTime(StrictModel):
    path: str
    """Where the reading's time is in the document."""
    format: TimeFormat = "unix_s"
    """How the time is written: unix_s, unix_ms, unix_us, unix_ns or iso8601."""

    @field_validator("path")
    @classmethod
    def _path_compiles(cls, path: str) -> str:
        compile_path(path)
        return path


class JsonSource(MqttSourceBase):
    profile: Literal["json"]
    fields: list[JsonField] = Field(default_factory=list)
    time: JsonTime | None = None
    """Where the device's own timestamp is; the arrival time is used when absent."""

    def decoder(self, site: str, machine: str) -> JsonDecoder:
        return JsonDecoder(self, site, machine)

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        return topic.replace("/", "-").strip("-") or None


class JsonDecoder(DecoderBase):
    def __init__(self, source: JsonSource, site: str, machine: str) -> None:
        super().__init__(site, machine, source.meter)
        paths = [(compile_path(f.path), f.signal, f.unit, f.states) for f in source.fields] or [
            ((name,), name, None, None) for name in SIGNALS]
        # (path, path as people write it, for errors, signal, unit, states)
        self._fields: list[tuple[Path, str, str, str | None, dict[str, MachineState] | None]] = [
            (path, _show(path), signal, unit, states) for path, signal, unit, states in paths]
        self._time = (compile_path(source.time.path), source.time.format) if source.time else None

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        document = json_object(payload)
        time_ns = self._timestamp(document, received_ns)
        readings = []
        for path, shown, signal, unit, states in self._fields:
            value = lookup(document, path)
            if value is MISSING or value is None:
                continue
            if signal == "state":
                readings.append(self.reading(signal, canonical_state(value, states, shown),
                                             time_ns))
            elif SIGNALS[signal].field.type == "string":
                readings.append(self.reading(signal, str(value), time_ns))
            else:
                readings.append(self.reading(signal, as_number(value, shown), time_ns, unit))
        if not readings:
            raise DecodeError("none of the configured paths is in the message")
        return readings

    def _timestamp(self, document: dict[str, Any], received_ns: int) -> int:
        if self._time is None:
            return received_ns
        path, fmt = self._time
        value = lookup(document, path)
        if value is MISSING or value is None:
            return received_ns
        if fmt == "iso8601":
            if not isinstance(value, str):
                raise DecodeError(f"time at {_show(path)}: expected an ISO 8601 string")
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise DecodeError(f"time at {_show(path)}: {value!r} is not ISO 8601") from None
            if moment.tzinfo is None:
                raise DecodeError(f"time at {_show(path)}: {value!r} has no time zone offset")
            return int(moment.timestamp() * 1e9)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DecodeError(f"time at {_show(path)}: expected a number ({fmt}), got {value!r}")
        time_ns = value if fmt == "unix_ns" and isinstance(value, int) else (
            value * _TIME_SCALE[fmt])
        if not 0 <= time_ns <= LATEST_UNIX_S * 10**9:  # NaN fails this too
            raise DecodeError(f"time at {_show(path)}: {value!r:.30} ({fmt}) is not between "
                              "1970 and 2200")
        return round(time_ns)


def _show(path: Path) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)[1:]


PROFILE = Profile(JsonSource, fuzz=(
    ("x", {"topic": "x", "time": {"path": "a", "format": "unix_ms"},
           "fields": [{"path": "s", "signal": "state"}]}),
    ("x", {"topic": "x", "fields": [{"path": "a.b[0]", "signal": "power_w"},
                                    {"path": "s", "signal": "state"}]})))
