from __future__ import annotations

import pytest

from contract.units import UnitError, converter


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [
        ("degF", "degC", 212.0, 100.0),
        ("degF", "degC", 71.6, 22.0),
        ("Wh", "kWh", 15234.0, 15.234),
        ("kW", "W", 0.8125, 812.5),
        ("mA", "A", 540.0, 0.54),
        ("W * minute", "kWh", 60_000.0, 1.0),
        ("revolution / second", "rpm", 200.0, 12_000.0),
        (None, "degC", 21.5, 21.5),
    ],
)
def test_conversions(source: str | None, target: str, value: float, expected: float) -> None:
    assert converter(source, target)(value) == pytest.approx(expected)


def test_incompatible_units_are_refused() -> None:
    with pytest.raises(UnitError, match="cannot convert 'kg' to 'degC'"):
        converter("kg", "degC")


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(UnitError, match="unknown unit 'furlongs_per_fortnight'"):
        converter("furlongs_per_fortnight", "W")
