"""The equipment-life worked example of docs/metrics.md, replayed: a printer with a
hotend serviced every 3 run-hours and a belt every 30 days, a laser whose tube counts
only above 10 % power, one failure and its repair, a service and a replacement. Every
figure and alert time here is worked out by hand there; the replay must give exactly
them, whole and cut anywhere (a restart in the middle)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from circlemade.cli import main
from edge.service.config import parse_config
from edge.storage.line_protocol import Fields, Line, last_writes
from tests.replayed import (
    around_the_clock,
    mqtt,
    replay,
    replay_in_parts,
    utc,
    write_recording,
)

T0 = utc("2026-11-23T08:00:00")
H = 3600
END = T0 + 6 * H + 30 * 60  # 14:30


def config() -> dict[str, Any]:
    return {**around_the_clock(), "alerts": [{"rule": "maintenance_due"}], "machines": [
        {"id": "mk4", "kind": "printer", "sources": [_json("p/mk4")], "components": [
            {"name": "hotend", "counts": "run_h", "service_every": 3},
            {"name": "belt", "counts": "days", "service_every": 30, "initial": 29.75}]},
        {"id": "co2", "kind": "laser", "sources": [_json("l/co2")], "components": [
            {"name": "tube", "counts": "run_h", "service_every": 1000,
             "only_while": {"signal": "laser_power_pct", "above": 10}}]}]}


def _json(topic: str) -> dict[str, Any]:
    return {"topic": topic, "profile": "json", "time": {"path": "ts", "format": "unix_s"}}


PRINTER = {  # seconds after 08:00 -> what the printer says then
    0: {"state": "running", "job_event": "start", "job_name": "bracket"},
    2 * H: {"state": "idle", "job_event": "end", "job_outcome": "good"},
    2 * H + 30 * 60: {"state": "running", "job_event": "start", "job_name": "hinge"},
    3 * H + 45 * 60: {"state": "fault", "job_event": "end", "job_outcome": "aborted"},
    4 * H + 20 * 60: {"state": "running", "job_event": "start", "job_name": "hinge"},
    5 * H + 20 * 60: {"state": "idle", "job_event": "end", "job_outcome": "good"},
}
LASER = {0: ("running", 5.0), H: ("running", 50.0), 2 * H: ("idle", 0.0),
         2 * H + 30 * 60: ("running", 80.0), 3 * H: ("idle", 0.0)}
SAID = {  # seconds after 08:00 -> maintenance recorded
    4 * H + 15 * 60: {"component": "hotend", "action": "serviced", "by": "amina"},
    6 * H + 10 * 60: {"component": "belt", "action": "replaced", "by": "amina"},
}


def recording() -> list[dict[str, Any]]:
    """Both machines report every 10 s, as the replay's ticks come (docs/lifetime.md)."""
    entries = []
    level = 0.0
    for t in range(T0, END, 10):
        offset = t - T0
        entries.append(mqtt(t, "p/mk4", {"ts": t, "nozzle_temp_c": 215.0,
                                         **PRINTER.get(offset, {})}))
        state, level = LASER.get(offset, (None, level))
        laser: dict[str, Any] = {"ts": t, "laser_power_pct": level}
        entries.append(mqtt(t, "l/co2", laser | ({"state": state} if state else {})))
        if offset in SAID:
            entries.append(mqtt(t, "circlemade/s/mk4/maintenance", SAID[offset]))
    return entries


def lifetime(lines: list[Line], machine: str, component: str) -> dict[int, Fields]:
    """The kept ``lifetime`` points of a component, by seconds after 08:00."""
    return {time_ns // 10**9 - T0: fields
            for (name, tags, time_ns), fields in last_writes(lines).items()
            if name == "lifetime" and dict(tags)["machine"] == machine
            and dict(tags)["component"] == component}


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    return replay(tmp_path_factory.mktemp("life"), config(), recording())


def test_the_hotend_falls_due_and_is_serviced(lines: list[Line]) -> None:
    hotend = lifetime(lines, "mk4", "hotend")
    assert hotend[3 * H + 12 * 60]["status"] == "warning"  # 2.7 run-hours, 11:12
    assert hotend[3 * H + 12 * 60]["run_h"] == pytest.approx(2.7)
    assert hotend[3 * H + 30 * 60]["status"] == "due"  # 3.0, 11:30
    noon = hotend[4 * H]  # the hour's end: in fault since 11:45
    assert (noon["run_h"], noon["since_service"]) == pytest.approx((3.25, 3.25))
    assert (noon["due_in"], noon["due_pct"]) == pytest.approx((-0.25, 108.333333))
    assert noon["status"] == "due" and noon["due_counts"] == "run_h"
    serviced = hotend[4 * H + 15 * 60]
    assert (serviced["since_service"], serviced["status"]) == (0.0, "ok")
    one = hotend[5 * H]  # 12:20 to 13:00 running again
    assert (one["run_h"], one["since_service"]) == pytest.approx((3.25 + 2 / 3, 2 / 3))
    assert one["due_pct"] == pytest.approx(22.222222)


def test_the_belt_counts_days_from_its_initial_and_is_replaced(lines: list[Line]) -> None:
    belt = lifetime(lines, "mk4", "belt")
    assert belt[10]["status"] == "warning"  # 29.75 of 30 days at the first tick
    assert belt[5 * H]["days"] == pytest.approx(29.75 + 5 / 24)
    assert belt[6 * H]["status"] == "due"  # 30 days at 14:00
    replaced = belt[6 * H + 10 * 60]
    assert (replaced["days"], replaced["since_service"], replaced["status"]) == (0.0, 0.0, "ok")


def test_the_machine_counts_everything(lines: list[Line]) -> None:
    machine = lifetime(lines, "mk4", "machine")[6 * H]  # 14:00
    assert machine["powered_h"] == pytest.approx(6.0)
    assert machine["run_h"] == pytest.approx(4.25)
    assert (machine["jobs"], machine["good_parts"]) == (3.0, 2.0)
    assert machine["days"] == pytest.approx(0.25)


def test_the_tube_counts_only_above_ten_percent(lines: list[Line]) -> None:
    tube = lifetime(lines, "co2", "tube")[6 * H]
    assert tube["run_h"] == pytest.approx(1.5)  # 09:00-10:00 and 10:30-11:00
    assert lifetime(lines, "co2", "machine")[6 * H]["run_h"] == pytest.approx(2.5)


def test_maintenance_is_recorded_with_the_count_before(lines: list[Line]) -> None:
    done = [(line.time_ns // 10**9 - T0, line.tags["component"], line.fields["action"],
             float(line.fields["since_service"])) for line in lines
            if line.measurement == "maintenance"]
    assert [d[:3] for d in done] == [(4 * H + 15 * 60, "hotend", "serviced"),
                                     (6 * H + 10 * 60, "belt", "replaced")]
    assert [d[3] for d in done] == pytest.approx([3.25, 30 + 10 / 1440])


def test_one_failure_and_its_repair(lines: list[Line]) -> None:
    kept = {(dict(tags)["window"], time_ns // 10**9 - T0): fields
            for (name, tags, time_ns), fields in last_writes(lines).items()
            if name == "reliability" and dict(tags)["machine"] == "mk4"}
    assert kept[("hour", 3 * H)] == {"failures": 1.0, "operating_s": 2700.0,
                                     "repairs": 0.0, "repair_s": 0.0, "mtbf_s": 2700.0}
    assert kept[("hour", 4 * H)] == {"failures": 0.0, "operating_s": 2400.0,
                                     "repairs": 1.0, "repair_s": 2100.0, "mttr_s": 2100.0}
    day = kept[("day", -8 * H)]
    assert (day["mtbf_s"], day["mttr_s"]) == (15300.0, 2100.0)


def test_alerts_at_the_times_worked_out(lines: list[Line]) -> None:
    said = [(line.time_ns // 10**9 - T0, line.fields["state"], line.fields["message"])
            for line in lines if line.measurement == "alert"]
    assert said == [
        (10, "firing", "mk4: maintenance soon: belt"),
        (3 * H + 30 * 60, "firing", "mk4: maintenance due: hotend"),
        (6 * H, "firing", "mk4: maintenance due: belt"),
        (6 * H + 10 * 60 + 10, "resolved", "mk4: maintenance done, nothing due")]


@pytest.mark.parametrize("cut", [1000, 1500, 2280, 2400, 3100])
def test_a_restart_anywhere_changes_no_figure(lines: list[Line], cut: int) -> None:
    """Cut in a job, in the fault, at the service, before the belt falls due."""
    records = list(enumerate(recording(), 1))
    parsed = parse_config(config())
    again = replay_in_parts(parsed, [records[:cut], records[cut:]])
    wanted = ("lifetime", "maintenance", "reliability", "alert")
    assert {k: v for k, v in last_writes(again).items() if k[0] in wanted} == {
        k: v for k, v in last_writes(lines).items() if k[0] in wanted}


def test_the_monthly_report_has_each_machines_life(tmp_path: Path) -> None:
    """The report's equipment-life table of the worked example: the month's hours and
    jobs from the lifetime counters, the maintenance done, MTBF and MTTR by hand."""
    (tmp_path / "life.toml").write_text(tomli_w.dumps(config()))
    write_recording(tmp_path / "life.jsonl", recording())
    assert main(["report", "-c", str(tmp_path / "life.toml"), "--month", "2026-11",
                 "--from-recording", str(tmp_path / "life.jsonl"),
                 "-o", str(tmp_path / "life.html")]) == 0
    with (tmp_path / "life-export" / "s-2026-11-life.csv").open() as file:
        life = {row["machine"]: row for row in csv.DictReader(file)}
    mk4 = life["mk4"]
    # the last hourly point of the month: 14:00, before which no point
    assert float(mk4["run_h"]) == pytest.approx(4.25)
    assert float(mk4["powered_h"]) == pytest.approx(6.0)
    assert (mk4["jobs"], mk4["maintenance"]) == ("3", "hotend serviced; belt replaced")
    assert (mk4["failures"], mk4["mtbf_s"], mk4["mttr_s"]) == ("1", "15300", "2100")
    assert float(life["co2"]["run_h"]) == pytest.approx(2.5)
    assert "Equipment life" in (tmp_path / "life.html").read_text()


def test_a_device_that_keeps_its_own_hours_is_believed_and_the_drift_shown(
        tmp_path: Path) -> None:
    """A mill whose control counts its spindle's hours (1,000.0 h, then 1,000.9 h an hour
    of running later): the count is the device's, the drift beside it is that less what
    the edge counted itself from the initial it was given (999 + 1 h)."""
    raw = {**around_the_clock(), "machines": [{"id": "mill", "kind": "cnc", "sources": [
        _json("m/mill")], "components": [{"name": "spindle", "counts": "run_h",
                                          "service_every": 2000, "initial": 999.0,
                                          "device_signal": "operating_h"}]}]}
    said = {0: {"state": "running", "operating_h": 1000.0},
            H: {"state": "idle", "operating_h": 1000.9}}  # idle from 09:00
    entries = [mqtt(t, "m/mill", {"ts": t, **said.get(t - T0, {"spindle_speed_rpm": 9000})})
               for t in range(T0, T0 + 2 * H + 20, 10)]
    spindle = lifetime(replay(tmp_path, raw, entries), "mill", "spindle")
    end = spindle[2 * H]  # at the hour's end after the device said 1,000.9
    assert end["run_h"] == pytest.approx(1000.9)
    assert end["drift"] == pytest.approx(1000.9 - (999.0 + 1.0))
    assert end["since_service"] == pytest.approx(1000.9)


def test_an_overdue_part_that_blocks_jobs_is_told_once_more(tmp_path: Path) -> None:
    """A nozzle every 0.1 run-hours (6 min), warning at 10 %: running from 08:00 it is
    at warning at 08:05:24 (told at the next tick, 08:05:30), due at 08:06:00 and
    overdue (110 %) at 08:06:36 (told at 08:06:40), the last once more because it blocks
    jobs."""
    raw = {**around_the_clock(), "alerts": [{"rule": "maintenance_due"}], "machines": [
        {"id": "p", "kind": "printer", "sources": [_json("p/p")], "components": [
            {"name": "nozzle", "counts": "run_h", "service_every": 0.1,
             "block_jobs": True}]}]}
    entries = [mqtt(t, "p/p", {"ts": t, "nozzle_temp_c": 210.0,
                               **({"state": "running"} if t == T0 else {})})
               for t in range(T0, T0 + 10 * 60, 10)]
    said = [(line.time_ns // 10**9 - T0, line.fields["message"])
            for line in replay(tmp_path, raw, entries) if line.measurement == "alert"]
    assert said == [(330, "p: maintenance soon: nozzle"), (360, "p: maintenance due: nozzle"),
                    (400, "p: maintenance overdue, start no new job: nozzle")]
