"""Conversion of device units to canonical units, with pint as the single source of truth.

Every conversion between two linear units (offset ones such as degF -> degC included) is
affine, so pint is asked once per unit pair for ``a`` and ``b`` and the hot path computes
``a * x + b``: pint's correctness at the cost of a multiplication.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import pint

from contract.errors import BadInput

_registry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)  # type: ignore[var-annotated]


class UnitError(BadInput):
    """A unit string pint does not know, or two units that cannot be converted."""


DECIMALS = 9
"""Converted values are rounded to this many decimals: float noise from the affine map
(71.6 degF -> 21.999999999999126 degC) would otherwise show in tables and exports."""


class Affine(NamedTuple):
    scale: float
    offset: float

    def __call__(self, value: float) -> float:
        return round(self.scale * value + self.offset, DECIMALS)


IDENTITY = Affine(1.0, 0.0)


def parse_unit(unit: str) -> pint.Unit:
    try:
        return _registry.Unit(unit)
    except (pint.errors.UndefinedUnitError, ValueError, AttributeError, TypeError) as exc:
        raise UnitError(f"unknown unit {unit!r}") from exc


@lru_cache(maxsize=1024)
def converter(source: str | None, target: str | None) -> Affine:
    """The affine map from ``source`` to ``target`` units; identity when either is None."""
    if source is None or target is None or source == target:
        if source is not None and target is None:
            parse_unit(source)
        return IDENTITY
    src, dst = parse_unit(source), parse_unit(target)
    try:
        zero = _registry.Quantity(0.0, src).to(dst).magnitude
        one = _registry.Quantity(1.0, src).to(dst).magnitude
    except pint.errors.DimensionalityError as exc:
        raise UnitError(f"cannot convert {source!r} to {target!r}") from exc
    return Affine(float(one - zero), float(zero))
