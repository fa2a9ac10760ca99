from __future__ import annotations

from contract.reading import Reading, TimeBounds
from edge.pipeline.normalise import Normaliser

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
    lines, _ = Normaliser({"m": "printer"}).to_lines([Reading("s", "m", "power_w", 5, None, T)],
                                                    T)
    assert lines == [f"energy,kind=printer,machine=m,meter=m,site=s power_w=5.0 {T}"]


def test_bad_readings_are_rejected_with_a_reason_and_the_rest_kept() -> None:
    lines, rejected = Normaliser({"m": "printer"}).to_lines([
        Reading("s", "m", "warp_factor", 9.0, None, T),
        Reading("s", "m", "state", "dancing", None, T),
        Reading("s", "m", "bed_temp_c", float("nan"), None, T),
        Reading("s", "m", "bed_temp_c", "hot", None, T),
        Reading("s", "m", "bed_temp_c", 60.0, "kg", T),
        Reading("s", "m", "bed_temp_c", 60.0, None, T),
    ])
    assert lines == [f"telemetry,kind=printer,machine=m,site=s bed_temp_c=60.0 {T}"]
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
        Reading("s", "p", "nozzle_temp_c", 5000.0, None, T),
        Reading("s", "p", "power_w", 10.0, "MW", T),
        Reading("s", "p", "energy_kwh", -3.0, None, T),
        Reading("s", "p", "nozzle_temp_c", 215.0, None, T),
        Reading("s", "p", "power_w", 120.0, None, T),
    ])
    assert [(r.signal, r.value) for r in good] == [("nozzle_temp_c", 215.0), ("power_w", 120.0)]
    assert [r.reason for r in rejected] == [
        "nozzle_temp_c: implausible value 5000 (expected -40 to 600)",
        "power_w: implausible value 1e+07 (expected -1000 to 30000)",
        "energy_kwh: implausible value -3 (expected 0 to 1e+09)",
    ]


def test_reading_times_outside_the_bounds_are_refused_with_the_reason() -> None:
    """A device clock never set (1970) or gone wrong (2199) is bad input: the KPI stage
    would otherwise walk windows up to it (issue 14, defect 2)."""
    bounds = TimeBounds(946_684_800 * 10**9, 300 * 10**9)
    now = T
    good, rejected = Normaliser({"m": "printer"}, time_bounds=bounds).canonical([
        Reading("s", "m", "bed_temp_c", 60.0, None, 7_258_000_000 * 10**9),
        Reading("s", "m", "bed_temp_c", 60.0, None, 5 * 10**9),
        Reading("s", "m", "bed_temp_c", 60.0, None, now + 301 * 10**9),
        Reading("s", "m", "bed_temp_c", 61.0, None, now + 299 * 10**9),
        Reading("s", "m", "bed_temp_c", 62.0, None, now - 86400 * 10**9),
    ], now)
    assert [r.value for r in good] == [61.0, 62.0]
    assert [r.reason for r in rejected] == [
        "bed_temp_c: time 2199-12-30T15:06:40.000000Z is 5494187200 s ahead of the edge's "
        "clock (at most 300 s allowed)",
        "bed_temp_c: time 1970-01-01T00:00:05.000000Z is before 2000-01-01T00:00:00.000000Z",
        "bed_temp_c: time 2025-11-22T12:05:01.250000Z is 301 s ahead of the edge's clock "
        "(at most 300 s allowed)",
    ]
