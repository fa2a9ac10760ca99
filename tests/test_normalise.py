from __future__ import annotations

from edge.normalise import Normaliser
from edge.reading import Reading

T = 1_763_812_800_250_000_000


def test_readings_of_one_instant_become_one_point_per_measurement() -> None:
    normaliser = Normaliser({"laser-01": "laser"})
    lines, rejected = normaliser.to_lines([
        Reading("bxl", "laser-01", "state", "running", None, T),
        Reading("bxl", "laser-01", "chamber_temp_c", 71.6, "degF", T),
        Reading("bxl", "laser-01", "power_w", 812.5, None, T, "plug-7"),
        Reading("bxl", "laser-01", "energy_kwh", 15234.0, "Wh", T, "plug-7"),
    ])
    assert rejected == []
    assert sorted(lines) == sorted([
        f'machine_state,kind=laser,machine=laser-01,site=bxl state="running",state_code=3.0 {T}',
        f"telemetry,kind=laser,machine=laser-01,site=bxl chamber_temp_c=22.0 {T}",
        f"energy,kind=laser,machine=laser-01,meter=plug-7,site=bxl "
        f"power_w=812.5,energy_kwh=15.234 {T}",
    ])


def test_energy_without_a_meter_is_tagged_with_the_machine() -> None:
    lines, _ = Normaliser({"m": "printer"}).to_lines([Reading("s", "m", "power_w", 5, None, 1)])
    assert lines == ["energy,kind=printer,machine=m,meter=m,site=s power_w=5.0 1"]


def test_bad_readings_are_rejected_with_a_reason_and_the_rest_kept() -> None:
    lines, rejected = Normaliser({"m": "printer"}).to_lines([
        Reading("s", "m", "warp_factor", 9.0, None, 1),
        Reading("s", "m", "state", "dancing", None, 1),
        Reading("s", "m", "bed_temp_c", float("nan"), None, 1),
        Reading("s", "m", "bed_temp_c", "hot", None, 1),
        Reading("s", "m", "bed_temp_c", 60.0, "kg", 1),
        Reading("s", "m", "bed_temp_c", 60.0, None, 1),
    ])
    assert lines == ["telemetry,kind=printer,machine=m,site=s bed_temp_c=60.0 1"]
    assert [r.reason for r in rejected] == [
        "unknown signal 'warp_factor'",
        "unknown machine state 'dancing'",
        "bed_temp_c: non-finite value nan",
        "bed_temp_c: expected a number, got 'hot'",
        "bed_temp_c: cannot convert 'kg' to 'degC'",
    ]


def test_values_outside_physical_limits_are_flagged_not_kept() -> None:
    normaliser = Normaliser({"p": "printer"}, {"p": 30_000.0})
    good, rejected = normaliser.canonical([
        Reading("s", "p", "nozzle_temp_c", 5000.0, None, 1),
        Reading("s", "p", "power_w", 10.0, "MW", 1),
        Reading("s", "p", "energy_kwh", -3.0, None, 1),
        Reading("s", "p", "nozzle_temp_c", 215.0, None, 1),
        Reading("s", "p", "power_w", 120.0, None, 1),
    ])
    assert [(r.signal, r.value) for r in good] == [("nozzle_temp_c", 215.0), ("power_w", 120.0)]
    assert [r.reason for r in rejected] == [
        "nozzle_temp_c: implausible value 5000 (expected -40 to 600)",
        "power_w: implausible value 1e+07 (expected -1000 to 30000)",
        "energy_kwh: implausible value -3 (expected 0 to 1e+09)",
    ]
