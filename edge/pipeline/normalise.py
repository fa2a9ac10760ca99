"""Readings -> line protocol points of the canonical schema, in canonical units.

Readings of one machine that share an instant and a measurement become one point with
several fields: fewer lines, and the values a device sent together stay together. The
series key (measurement and tags) of each machine is built once and cached: it is the
same for every point, and escaping it per point was a third of the ingest cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from contract.errors import BadInput
from contract.machine_state import MachineState
from contract.reading import DEFAULT_TIME_BOUNDS, Reading, TimeBounds
from contract.schema import ENERGY, MACHINE_STATE, SIGNALS
from contract.units import DECIMALS, UnitError, converter
from edge.pipeline.kpi.context import Point
from edge.storage import line_protocol

if TYPE_CHECKING:
    from edge.pipeline.settings import PipelineConfig


class NormaliseError(BadInput):
    """A reading that cannot be stored: unknown signal, bad unit, absurd value."""


@dataclass(slots=True)
class Rejected:
    reading: Reading
    reason: str


_STATE_FIELDS = {
    state.value: f'state="{state.value}",state_code={float(state.code)!r}' for state in MachineState
}


class _Plan(NamedTuple):
    """What checking and encoding a signal's readings needs, looked up once per reading
    instead of walked from the schema each time (this runs for every value)."""
    kind: int
    measurement: str
    prefix: str
    """``field=``, the start of the line protocol field."""
    unit: str | None
    limits: tuple[float, float] | None
    per_meter: bool
    """Energy: a point per meter (the meter tag)."""


_NUMBER, _TEXT, _STATE = 0, 1, 2
_PLANS = {
    name: _Plan(_STATE if spec.measurement is MACHINE_STATE
                else _TEXT if spec.field.type == "string" else _NUMBER,
                spec.measurement.name, f"{line_protocol.escape_key(spec.name)}=", spec.unit,
                spec.field.limits, spec.measurement is ENERGY)
    for name, spec in SIGNALS.items()}

PointKey = tuple[str, str, str, str | None, int]


class Normaliser:
    def __init__(self, machine_kinds: dict[str, str],
                 max_power_w: dict[str, float] | None = None,
                 time_bounds: TimeBounds = DEFAULT_TIME_BOUNDS) -> None:
        self._kinds = machine_kinds
        self._max_power = max_power_w or {}
        self._time_bounds = time_bounds
        self._series: dict[tuple[str, str, str, str | None], str] = {}

    @classmethod
    def for_config(cls, config: PipelineConfig) -> Normaliser:
        return cls({m.id: m.kind for m in config.machines},
                   {m.id: m.max_power_w for m in config.machines}, config.clock.bounds())

    def canonical(self, readings: Iterable[Reading], now_ns: int | None = None,
                  ) -> tuple[list[Reading], list[Rejected]]:
        """Readings checked and in canonical units (``unit`` None), and those refused with
        the reason. The one place readings are validated: the KPI stage computes with what
        will be stored, and :meth:`encode` trusts what passed here. ``now_ns`` is the
        edge's clock (the recording's in replay); the wall clock when not given."""
        good: list[Reading] = []
        rejected: list[Rejected] = []
        now = time.time_ns() if now_ns is None else now_ns
        bounds = self._time_bounds
        earliest, latest = bounds.earliest_ns, now + bounds.max_ahead_ns
        max_power = self._max_power
        for reading in readings:
            plan = _PLANS.get(reading.signal)
            value = reading.value
            if (plan is not None and plan.kind == _NUMBER and reading.unit is None
                    and earliest <= reading.time_ns <= latest
                    and not isinstance(value, str) and reading.signal != "power_w"):
                # the common case, checked inline: a number in its canonical unit
                limits = plan.limits
                if math.isfinite(value) and (limits is None
                                             or limits[0] <= value <= limits[1]):
                    good.append(reading)
                    continue
            try:
                if not earliest <= reading.time_ns <= latest:
                    raise NormaliseError(f"{reading.signal}: "
                                         f"{bounds.problem(reading.time_ns, now)}")
                good.append(self._checked(reading, plan, max_power))
            except NormaliseError as exc:
                rejected.append(Rejected(reading, str(exc)))
        return good, rejected

    def to_lines(self, readings: Iterable[Reading], now_ns: int | None = None,
                 ) -> tuple[list[str], list[Rejected]]:
        """Lines for raw readings, and the readings refused with the reason."""
        good, rejected = self.canonical(readings, now_ns)
        return self.encode(good), rejected

    def encode(self, readings: Iterable[Reading]) -> list[str]:
        """Lines for canonical readings: those of one series and instant share a line."""
        points: dict[PointKey, list[str]] = {}
        for reading in readings:
            plan = _PLANS[reading.signal]
            value = reading.value
            if plan.kind == _STATE:
                field = _STATE_FIELDS[str(value)]
            elif isinstance(value, str):
                field = plan.prefix + line_protocol.format_value(value)
            else:
                field = plan.prefix + repr(float(value))
            meter = (reading.meter or reading.machine) if plan.per_meter else None
            key = (plan.measurement, reading.site, reading.machine, meter, reading.time_ns)
            fields = points.get(key)
            if fields is None:
                points[key] = [field]
            else:
                fields.append(field)
        return [f"{self._series_key(measurement, site, machine, meter)} {','.join(fields)} "
                f"{time_ns}"
                for (measurement, site, machine, meter, time_ns), fields in points.items()]

    def point_lines(self, points: Iterable[Point]) -> list[str]:
        """Derived points (jobs, OEE, material) as lines; numbers as floats, rounded as
        converted values are (sums of floats carry noise such as 0.10000000000002274)."""
        return [line_protocol.encode(p.measurement, p.tags, [
                    (key, value if isinstance(value, str) else round(value, DECIMALS))
                    for key, value in p.fields], p.time_ns)
                for p in points]

    def _series_key(self, measurement: str, site: str, machine: str, meter: str | None) -> str:
        key = (measurement, site, machine, meter)
        series = self._series.get(key)
        if series is None:
            tags = [("site", site), ("machine", machine), ("kind", self._kinds.get(machine, ""))]
            if meter is not None:
                tags.append(("meter", meter))
            series = self._series[key] = line_protocol.series_key(measurement, tags)
        return series

    def _checked(self, reading: Reading, plan: _Plan | None,
                 max_power: dict[str, float]) -> Reading:
        if plan is None:
            raise NormaliseError(f"unknown signal {reading.signal!r}")
        value = reading.value
        if plan.kind == _STATE:
            if str(value) not in _STATE_FIELDS:
                raise NormaliseError(f"unknown machine state {value!r}")
            return reading
        if plan.kind == _TEXT:
            if not isinstance(value, str):
                raise NormaliseError(f"{reading.signal}: expected text, got {value!r:.40}")
            return reading
        if isinstance(value, str):
            raise NormaliseError(f"{reading.signal}: expected a number, got {value!r:.40}")
        if reading.unit is not None:
            try:
                value = converter(reading.unit, plan.unit)(float(value))
            except UnitError as exc:
                raise NormaliseError(f"{reading.signal}: {exc}") from None
            reading = reading._replace(value=value, unit=None)
        value = float(value)
        if not math.isfinite(value):  # refuse what cannot be real: NaN, 5000 degC, 10 MW
            raise NormaliseError(f"{reading.signal}: non-finite value {value!r}")
        limits = plan.limits
        if reading.signal == "power_w" and reading.machine in max_power:
            limits = (limits[0] if limits else 0.0, max_power[reading.machine])
        if limits and not limits[0] <= value <= limits[1]:
            raise NormaliseError(f"{reading.signal}: implausible value {value:g} (expected "
                                 f"{limits[0]:g} to {limits[1]:g})")
        return reading
