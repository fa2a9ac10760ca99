"""Regression tests for the KPI defects of issue 15, each from a recorded session run
through ``circlemade replay``; the expected figures are worked out by hand in each test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.service.config import parse_config
from edge.service.config_problems import ConfigError
from tests.replayed import (
    around_the_clock,
    job_starts,
    jobs,
    mqtt,
    replay,
    utc,
    windows,
)
from tests.test_kpi_example import documented

T = utc("2026-11-23T09:00:00")  # a Monday; the site is in UTC, every hour planned


def octoprint_behind_tasmota() -> dict[str, Any]:
    return {**around_the_clock(), "machines": [
        {"id": "mk3", "kind": "printer", "material": "PETG", "sources": [
            {"topic": "octoPrint/#", "profile": "octoprint"},
            {"topic": "tele/plug-mk3/+", "profile": "tasmota", "meter": "plug-mk3",
             "offline_state": False}]}]}


def event(t: float, kind: str, **extra: Any) -> dict[str, Any]:
    return mqtt(t, f"octoPrint/event/{kind}", {"_timestamp": t, "_event": kind, **extra})


def test_a_closed_window_is_never_rewritten_with_a_sliver(tmp_path: Path) -> None:
    """A print 09:05-09:55 (150 W, 5 W otherwise) behind a plug reporting every 10 s,
    up to 10:00:30. The 09:00 hour: run 3,000 s of 3,600 (availability 0.833333), energy
    150 W x 3,000 s + 5 W x 600 s = 453,000 Ws = 0.125833 kWh. The plug's report at
    10:00:00 closes the hour's last interval after the hour ended: before the fix the
    window was written again with only that interval (availability 0, 0.000014 kWh)."""
    entries = [event(T - 10, "Connected")]
    total = 10.0
    for t in range(T - 10, T + 3631, 10):
        watts = 150.0 if T + 300 < t <= T + 3300 else 5.0  # held over the 10 s before
        if t > T - 10:
            total += watts * 10 / 3_600_000
        entries.append(mqtt(t, "tele/plug-mk3/SENSOR", {"ENERGY": {
            "Total": round(total, 9), "Power": watts}}))
        if t == T + 300:
            entries.append(event(t, "PrintStarted", name="vase.gcode", path="vase.gcode"))
        if t == T + 3300:
            entries.append(event(t, "PrintDone", name="vase.gcode", time=3000.0))
    lines = replay(tmp_path, octoprint_behind_tasmota(), entries)

    oee_writes = [line.fields for line in lines if line.measurement == "oee"
                  and line.tags["window"] == "hour" and line.time_ns == T * 10**9]
    assert oee_writes and all(f["run_s"] == 3000.0 for f in oee_writes), oee_writes
    oee, circularity = (windows(lines, name, "mk3", "hour")[T]
                        for name in ("oee", "circularity"))
    assert oee["availability"] == pytest.approx(3000 / 3600)
    assert circularity["energy_kwh"] == pytest.approx(453_000 / 3_600_000, rel=1e-6)
    day = windows(lines, "circularity", "mk3", "day")[T - 9 * 3600]
    hours = windows(lines, "circularity", "mk3", "hour")
    assert day["energy_kwh"] == pytest.approx(sum(float(h["energy_kwh"]) for h in hours.values()))
    # and no float noise in what is stored (defect 6): 9 decimals, as converted values
    for line in lines:
        for value in line.fields.values():
            if isinstance(value, float):
                assert value == round(value, 9), line


def test_each_job_is_stored_under_its_own_name_octoprint(tmp_path: Path) -> None:
    names = ["fourth.gcode", "fifth.gcode", "sixth.gcode"]
    entries = [event(T, "Connected")]
    for i, name in enumerate(names):
        start = T + 600 * i + 10
        entries += [event(start, "PrintStarted", name=name, path=name),
                    event(start + 500, "PrintDone", name=name, time=500.0)]
    lines = replay(tmp_path, octoprint_behind_tasmota(), entries)
    assert job_starts(lines, "mk3") == names
    assert [job.fields["job"] for job in jobs(lines, "mk3")] == names


def test_each_job_is_stored_under_its_own_name_bambu(tmp_path: Path) -> None:
    names = ["hinge-bracket_PLA", "lid_PLA", "clip_PLA"]
    topic = "device/01S00C000000001/report"
    config = {**around_the_clock(), "machines": [{"id": "p1s", "kind": "printer", "sources": [
        {"topic": "device/01S00C000000001/report", "profile": "bambu"}]}]}
    entries = []
    for i, name in enumerate(names):
        start = T + 600 * i
        entries += [
            mqtt(start, topic, {"print": {"gcode_state": "PREPARE", "subtask_name": name}}),
            mqtt(start + 60, topic, {"print": {"gcode_state": "RUNNING", "mc_percent": 10}}),
            mqtt(start + 500, topic, {"print": {"gcode_state": "FINISH", "mc_percent": 100}})]
    lines = replay(tmp_path, config, entries)
    assert job_starts(lines, "p1s") == names
    assert [job.fields["job"] for job in jobs(lines, "p1s")] == names


def test_a_job_started_before_the_meters_first_report_does_not_get_its_lifetime(
        tmp_path: Path) -> None:
    """An MK4 print from 09:00:00 to 09:01:00; the Shelly plug's first report comes at
    09:00:10 with a lifetime total of 48,731.812 Wh, then every 10 s at 120 W. The job
    can know the energy from 09:00:10 on: 120 W x 50 s = 6,000 Ws = 0.001667 kWh
    (before the fix: 48.73 kWh, the counter's value)."""
    config = {**around_the_clock(), "machines": [{"id": "mk4", "kind": "printer", "sources": [
        {"topic": "octoPrint/#", "profile": "octoprint"},
        {"topic": "shellyplus-mk4/#", "profile": "shelly", "meter": "plug-mk4",
         "offline_state": False}]}]}
    entries = [event(T - 5, "Connected"), event(T, "PrintStarted", name="clip_PETG.gcode")]
    for i, t in enumerate(range(T + 10, T + 71, 10)):
        entries.append(mqtt(t, "shellyplus-mk4/events/rpc", {
            "src": "shellyplus-mk4", "method": "NotifyStatus", "params": {
                "ts": t, "switch:0": {"id": 0, "apower": 120.0,
                                      "aenergy": {"total": 48731.812 + i * 120 * 10 / 3600}}}}))
        if t == T + 60:
            entries.append(event(t, "PrintDone", name="clip_PETG.gcode", time=60.0))
    lines = replay(tmp_path, config, entries)
    (job,) = jobs(lines, "mk4")
    assert job.fields["duration_s"] == 60.0
    assert job.fields["energy_kwh"] == pytest.approx(6000 / 3_600_000, rel=1e-6)
    assert job.fields["co2e_kg"] == pytest.approx(6000 / 3_600_000 * 0.16, abs=1e-9)
    hour = windows(lines, "circularity", "mk4", "hour")[T]
    assert float(job.fields["energy_kwh"]) <= float(hour["energy_kwh"]) + 1e-9


def test_a_machine_with_only_a_meter_gets_energy_windows(tmp_path: Path) -> None:
    """A filament dryer behind a Tasmota plug, no power thresholds: 60 W from 09:00 to
    11:00 (reports every 60 s). Each hour: 60 W x 3,600 s = 0.06 kWh; the day 0.12 kWh.
    Its state stays unknown: no machine_state points, no OEE windows."""
    config = {**around_the_clock(), "machines": [{"id": "dryer", "kind": "other", "sources": [
        {"topic": "tele/plug-dryer/+", "profile": "tasmota", "meter": "plug-dryer",
         "offline_state": False}]}]}
    entries = [mqtt(t, "tele/plug-dryer/SENSOR", {"ENERGY": {
        "Total": round(3.0 + (t - T) * 60 / 3_600_000, 9), "Power": 60.0}})
        for t in range(T, T + 7201, 60)]
    lines = replay(tmp_path, config, entries)
    hours = windows(lines, "circularity", "dryer", "hour")
    assert hours[T]["energy_kwh"] == pytest.approx(0.06)
    assert hours[T + 3600]["energy_kwh"] == pytest.approx(0.06)
    assert hours[T]["standby_kwh"] == 0.0  # not known to be standing by
    day = windows(lines, "circularity", "dryer", "day")
    assert day[T - 9 * 3600]["energy_kwh"] == pytest.approx(0.12)
    assert not windows(lines, "oee", "dryer", "hour")
    assert not [line for line in lines if line.measurement == "machine_state"]


def test_any_material_is_accepted_with_its_density() -> None:
    def machine(**extra: Any) -> dict[str, Any]:
        return {**around_the_clock(), "machines": [{"id": "p", "kind": "printer", **extra,
                                                    "sources": [{"topic": "t",
                                                                 "profile": "json"}]}]}

    config = parse_config(machine(material="PLA+", density_g_cm3=1.24))
    assert config.machines[0].material == "PLA+"
    assert parse_config(machine(material="petg")).machines[0].material == "PETG"
    with pytest.raises(ConfigError, match=r"machines\[0\]: material: unknown material 'PLA\+'"):
        parse_config(machine(material="PLA+"))


NIGHT = "## Worked example: a night across the clock change"
NIGHT_POINTS = {  # the table's names for the points: (measurement, window, start)
    "hour 23:00": ("hour", "2026-10-24T21:00:00"),
    "hour 02:00 CEST": ("hour", "2026-10-25T00:00:00"),
    "hour 02:00 CET": ("hour", "2026-10-25T01:00:00"),
    "hour 03:00": ("hour", "2026-10-25T02:00:00"),
    "day 24": ("day", "2026-10-23T22:00:00"),
    "day 25": ("day", "2026-10-24T22:00:00"),
    "shift night": ("shift", "2026-10-24T20:00:00"),
}


def night_session() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The second worked example of docs/metrics.md: 1,000 W from 23:30 CEST to 03:30
    CET in Brussels, the night the clocks go back."""
    config = {**around_the_clock(timezone="Europe/Brussels"), "machines": [
        {"id": "oven", "kind": "other", "sources": [
            {"topic": "oven/status", "profile": "json", "time": {"path": "ts",
                                                                 "format": "unix_s"}}]}]}
    config["calendar"] = {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                          "shifts": [{"name": "day", "start": "06:00", "end": "22:00"},
                                     {"name": "night", "start": "22:00", "end": "06:00"}]}
    start, end = utc("2026-10-24T21:30:00"), utc("2026-10-25T02:30:00")

    def status(t: int, **fields: Any) -> dict[str, Any]:
        return mqtt(t, "oven/status", {"ts": t, **fields})

    entries = [status(start - 600, state="idle", power_w=0.0),
               status(start, state="running", job_event="start", job_name="anneal",
                      power_w=1000.0)]
    entries += [status(t, power_w=1000.0) for t in range(start + 600, end, 600)]
    entries += [status(end, power_w=0.0),
                status(end, state="idle", job_event="end", job_outcome="good"),
                status(end + 3600, power_w=0.0),
                status(utc("2026-10-25T23:01:00"), power_w=0.0)]  # after the 25th ended
    return config, entries


@pytest.mark.parametrize(("point", "field", "value"), documented(NIGHT))
def test_a_job_across_midnight_a_shift_change_and_the_clock_change(
        tmp_path: Path, point: str, field: str, value: float) -> None:
    lines = replay(tmp_path, *night_session())
    if point == "job":
        (job,) = jobs(lines, "oven")
        assert job.fields["job"] == "anneal"
        assert job.fields[field] == pytest.approx(value, rel=1e-6)
        return
    measurement, name = point.split(" ", 1)
    kind, start = NIGHT_POINTS[name]
    found = windows(lines, measurement, "oven", kind)[utc(start)]
    assert found[field] == pytest.approx(value, rel=1e-6)


def test_the_night_is_documented() -> None:
    assert len(documented(NIGHT)) >= 15
