"""Readings -> line protocol points of the canonical schema, in canonical units.

Readings of one machine that share an instant and a measurement become one point with
several fields: fewer lines, and the values a device sent together stay together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from edge import line_protocol
from edge.machine_state import MachineState
from edge.reading import Reading
from edge.schema import ENERGY, MACHINE_STATE, SIGNALS
from edge.units import UnitError, converter


class NormaliseError(ValueError):
    """A reading that cannot be stored: unknown signal, bad unit, absurd value."""


@dataclass(slots=True)
class Rejected:
    reading: Reading
    reason: str


class Normaliser:
    def __init__(self, machine_kinds: dict[str, str]) -> None:
        self._kinds = machine_kinds

    def to_lines(self, readings: Iterable[Reading]) -> tuple[list[str], list[Rejected]]:
        """Points for ``readings``, and the readings that were refused with the reason."""
        points: dict[tuple[str, str, str, str | None, int], list[tuple[str, float | str]]] = {}
        rejected: list[Rejected] = []
        for reading in readings:
            try:
                measurement, fields = self._fields(reading)
            except NormaliseError as exc:
                rejected.append(Rejected(reading, str(exc)))
                continue
            meter = (reading.meter or reading.machine) if measurement == ENERGY.name else None
            key = (measurement, reading.site, reading.machine, meter, reading.time_ns)
            points.setdefault(key, []).extend(fields)
        lines = []
        for (measurement, site, machine, meter, time_ns), fields in points.items():
            tags = [("site", site), ("machine", machine), ("kind", self._kinds.get(machine, ""))]
            if meter is not None:
                tags.append(("meter", meter))
            lines.append(line_protocol.encode(measurement, tags, fields, time_ns))
        return lines, rejected

    @staticmethod
    def _fields(reading: Reading) -> tuple[str, list[tuple[str, float | str]]]:
        spec = SIGNALS.get(reading.signal)
        if spec is None:
            raise NormaliseError(f"unknown signal {reading.signal!r}")
        value = reading.value
        if spec.measurement is MACHINE_STATE:
            try:
                state = MachineState(str(value))
            except ValueError:
                raise NormaliseError(f"unknown machine state {value!r}") from None
            return MACHINE_STATE.name, [("state", state.value), ("state_code", state.code)]
        if isinstance(value, str):
            raise NormaliseError(f"{reading.signal}: expected a number, got {value!r:.40}")
        try:
            number = converter(reading.unit, spec.unit)(float(value))
        except UnitError as exc:
            raise NormaliseError(f"{reading.signal}: {exc}") from None
        if not math.isfinite(number):
            raise NormaliseError(f"{reading.signal}: non-finite value {value!r}")
        return spec.measurement.name, [(spec.name, number)]
