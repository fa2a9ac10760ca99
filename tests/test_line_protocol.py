from __future__ import annotations

import pytest

from edge.storage.line_protocol import LineProtocolError, encode


def test_tags_sorted_fields_float_and_escaped() -> None:
    line = encode(
        "telemetry",
        [("site", "bxl nord"), ("machine", "mk4,01"), ("kind", "printer")],
        [("nozzle_temp_c", 215), ("job", 'a "b"\\c'), ("ok", True)],
        1_700_000_000_123_456_789,
    )
    assert line == (
        r"telemetry,kind=printer,machine=mk4\,01,site=bxl\ nord "
        r'nozzle_temp_c=215.0,job="a \"b\"\\c",ok=1.0 1700000000123456789'
    )


def test_integers_are_written_as_floats_never_with_i_suffix() -> None:
    line = encode("energy", [("site", "s")], [("energy_kwh", 3)], 1)
    assert "energy_kwh=3.0 " in line and "3i" not in line


def test_empty_tag_values_are_dropped() -> None:
    assert encode("m", [("site", "s"), ("kind", "")], [("f", 1.5)], 5) == "m,site=s f=1.5 5"


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_values_are_refused(value: float) -> None:
    with pytest.raises(LineProtocolError, match="non-finite"):
        encode("m", [], [("f", value)], 1)


def test_a_point_needs_a_field() -> None:
    with pytest.raises(LineProtocolError, match="no fields"):
        encode("m", [("site", "s")], [], 1)
