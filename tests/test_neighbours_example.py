"""The worked example of docs/metrics.md ("Worked example: neighbours"): a sound sensor on
the façade of a Brussels workshop through a Tuesday evening and past midnight, a laser
then a CNC router making the noise; and a laser job whose PM2.5 rises by a known amount
at the sensor beside it. Every figure and alert time is the one worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from edge.storage.line_protocol import Fields, Line, last_writes
from tests.replayed import around_the_clock, mqtt, replay, utc

DAY = "2026-11-24"
"""A Tuesday; Brussels is UTC+1."""
SOURCE = {"profile": "json", "time": {"path": "ts", "format": "unix_s"}}


def local(clock: str, day: str = DAY) -> int:
    return utc(f"{day}T{clock}:00") - 3600


def config() -> dict[str, Any]:
    site = around_the_clock(timezone="Europe/Brussels")
    return {**site,
            "neighbours": {"voc_index_max": 150, "periods": [
                {"name": "day", "start": "07:00", "end": "19:00", "laeq_max_db": 55},
                {"name": "evening", "start": "19:00", "end": "22:00", "laeq_max_db": 50},
                {"name": "night", "start": "22:00", "end": "07:00", "laeq_max_db": 45}]},
            "alerts": [{"rule": "noise"},
                       {"rule": "air", "signal": "pm2_5_ugm3", "above": 25, "after_min": 5}],
            "machines": [
                {"id": "facade", "kind": "sensor", "location": "facade",
                 "sources": [{**SOURCE, "topic": "s/facade"}]},
                {"id": "air-laser", "kind": "sensor", "location": "laser-1",
                 "sources": [{**SOURCE, "topic": "s/air-laser"}]},
                *({"id": m, "kind": kind, "sources": [{**SOURCE, "topic": f"m/{m}"}]}
                  for m, kind in (("laser-1", "laser"), ("cnc-1", "router")))]}


def levels() -> list[tuple[str, str, float]]:
    """(local from, to, dB(A)) at the façade."""
    return [("17:00", "17:30", 45.0), ("17:30", "18:00", 55.0), ("18:00", "18:30", 65.0),
            ("18:30", "19:31", 45.0)]


def evening() -> list[dict[str, Any]]:
    """A reading a minute, each the LAeq of the minute before it; the night's readings
    after a silence (the first only sets the sensor's clock)."""
    entries = []
    for start, end, db in levels():
        for t in range(local(start) + 60, local(end) + 1, 60):
            entries.append(mqtt(t, "s/facade", {"ts": t, "sound_dba": db}))
    entries.insert(0, mqtt(local("17:00"), "s/facade", {"ts": local("17:00"), "sound_dba": 45}))
    night = utc("2026-11-24T22:50:00")  # 23:50 local
    for t in range(night, night + 21 * 60, 60):
        entries.append(mqtt(t, "s/facade", {"ts": t, "sound_dba": 50.0}))
    for machine, start, end in (("laser-1", "17:30", "18:00"), ("cnc-1", "18:00", "18:30")):
        for t in range(local("17:00"), local("19:31") + 1, 60):  # each says its state
            state = "running" if local(start) <= t < local(end) else "idle"
            entries.append(mqtt(t, f"m/{machine}", {"ts": t, "state": state}))
    entries += [mqtt(local("17:30"), "m/laser-1", {"ts": local("17:30"), "job_event": "start",
                                                  "job_name": "sign_oak"}),
                mqtt(local("18:00"), "m/laser-1", {"ts": local("18:00"), "job_event": "end",
                                                  "job_outcome": "good"})]
    for t in range(local("17:00"), local("19:31") + 1, 60):  # the air beside the laser
        cutting = local("17:30") <= t < local("18:00")
        entries.append(mqtt(t, "s/air-laser", {
            "ts": t, "pm2_5_ugm3": 38.0 if cutting else 8.0,
            "particles_03_per_dl": 2400.0 if cutting else 400.0,
            "voc_index": 220.0 if cutting else 100.0}))
    return sorted(entries, key=lambda e: str(e["time"]))


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    return replay(tmp_path_factory.mktemp("neighbours"), config(), evening())


def noise(lines: list[Line], period: str = "") -> dict[int, Fields]:
    return {t // 10**9: fields for (name, tags, t), fields in last_writes(lines).items()
            if name == "noise" and dict(tags).get("period", "") == period}


def test_half_an_hour_at_55_and_half_an_hour_at_65_is_62_4_not_60(lines: list[Line]) -> None:
    hour = noise(lines)
    assert hour[local("18:30")]["laeq_1h_db"] == pytest.approx(
        10 * math.log10((10 ** 5.5 + 10 ** 6.5) / 2), abs=1e-9)
    assert round(float(hour[local("18:30")]["laeq_1h_db"]), 1) == 62.4
    assert hour[local("17:31")]["laeq_1min_db"] == pytest.approx(55.0)


def test_the_periods_as_the_permit_measures_them(lines: list[Line]) -> None:
    day = noise(lines, "day")[local("07:00")]
    # 17:00-19:00 measured: 60 min at 45, 30 at 55, 30 at 65
    expected = 10 * math.log10((60 * 10 ** 4.5 + 30 * 10 ** 5.5 + 30 * 10 ** 6.5) / 120)
    assert day["laeq_db"] == pytest.approx(expected, abs=1e-9)  # 59.47
    assert day["lmax_db"] == 65.0 and day["minutes_over"] == 30.0 and day["limit_db"] == 55.0
    assert day["machines_over"] == "cnc-1=30"  # the router ran in all 30 minutes over
    evening_ = noise(lines, "evening")[local("19:00")]
    assert evening_["laeq_db"] == pytest.approx(45.0) and evening_["minutes_over"] == 0.0
    # the night runs past midnight: 23:50-00:10 in the window of 22:00
    night = noise(lines, "night")[local("22:00")]
    assert night["laeq_db"] == pytest.approx(50.0) and night["minutes_over"] == 20.0
    assert set(noise(lines, "night")) == {local("22:00")}


def test_every_noise_alert_time(lines: list[Line]) -> None:
    alerts = [(line.time_ns // 10**9, str(line.fields["state"]), str(line.fields["message"]))
              for line in lines if line.measurement == "alert" and line.tags["rule"] == "noise"]
    assert [(t, state) for t, state, _ in alerts] == [
        (local("17:55") + 10, "firing"), (local("19:00"), "event"),
        (local("19:30") + 10, "resolved"), (utc("2026-11-24T22:51:10"), "firing")]
    fired, ended, resolved, night = (message for _, _, message in alerts)
    assert "the last hour at 52.1 dB(A), within 3.0 dB of the day limit of 55.0 dB(A); " \
           "running now: laser-1" in fired
    assert "the day period (07:00-19:00) ended at 59.5 dB(A), above its limit of 55.0 " \
           "dB(A); 30 minutes over" in ended
    assert "back to 45.0 dB(A), under the evening limit of 50.0 dB(A)" in resolved
    assert "within 3.0 dB of the night limit of 45.0 dB(A); running now: no machine" in night


@pytest.mark.parametrize("cut", [
    local("17:44") + 30,  # in the laser's job, in a minute and an hour
    local("19:00") + 5])  # the day period just ended, not yet told
def test_a_restart_changes_no_noise_figure(tmp_path: Path, cut: int) -> None:
    from edge.service.config import parse_config
    from tests.replayed import replay_in_parts

    entries = evening()
    whole = replay(tmp_path, config(), entries)
    numbered = list(enumerate(entries, 1))
    parts = replay_in_parts(parse_config(config()), [
        [(n, e) for n, e in numbered if utc(str(e["time"])[:19]) < cut],
        [(n, e) for n, e in numbered if utc(str(e["time"])[:19]) >= cut]])
    for period in ("", "day", "evening", "night"):
        assert noise(parts, period) == noise(whole, period), period
    for measurement in ("job", "air"):
        assert {k: v for k, v in last_writes(parts).items() if k[0] == measurement} == {
            k: v for k, v in last_writes(whole).items() if k[0] == measurement}
    assert [line for line in parts if line.measurement == "alert"] == [
        line for line in whole if line.measurement == "alert"]


def test_a_laser_jobs_air_fingerprint_and_the_days_hours_over(lines: list[Line]) -> None:
    (job,) = [line for line in lines if line.measurement == "job"]
    # beside the laser: 8 ug/m3 in the 10 minutes before, 38 during the job
    assert job.fields["pm2_5_ugm3_rise"] == pytest.approx(30.0)
    assert job.fields["particles_03_per_dl_rise"] == pytest.approx(2000.0)
    assert job.fields["voc_index_rise"] == pytest.approx(120.0)
    assert job.fields["material"] == "PLA"
    day = {t // 10**9: fields for (name, tags, t), fields in last_writes(lines).items()
           if name == "air" and dict(tags)["machine"] == "air-laser"}[local("00:00")]
    # 17:00-18:00: PM2.5 (30 x 8 + 30 x 38) / 60 = 23 > 15; VOC index 160 > 150
    assert day["pm2_5_hours_over"] == 1.0 and day["voc_hours_over"] == 1.0


def test_the_air_alert_fires_after_its_minutes_and_resolves(lines: list[Line]) -> None:
    alerts = [(line.time_ns // 10**9, str(line.fields["state"]), str(line.fields["message"]))
              for line in lines if line.measurement == "alert" and line.tags["rule"] == "air"]
    assert [(t, state) for t, state, _ in alerts] == [
        (local("17:35"), "firing"), (local("18:00") + 10, "resolved")]
    assert "air-laser: pm2_5_ugm3 at 38.0 for 5 min, above 25.0; running now: laser-1" \
        in alerts[0][2]


def test_a_sensor_without_particles_gives_the_rest_of_the_fingerprint(tmp_path: Path) -> None:
    """A VINDSTYRKA has no particle count: the job still starts and ends, with the rises
    the sensor can give."""
    setup = config()
    setup["machines"][1]["location"] = "cnc-1"
    entries = []
    for t in range(local("09:00"), local("09:40") + 1, 60):
        milling = local("09:20") <= t < local("09:35")
        entries.append(mqtt(t, "s/air-laser", {"ts": t, "pm2_5_ugm3": 30.0 if milling else 10.0,
                                               "voc_index": 100.0}))
        entries.append(mqtt(t, "m/cnc-1", {"ts": t, "state": "running" if milling else "idle"}))
    entries += [mqtt(local("09:20"), "m/cnc-1", {"ts": local("09:20"), "job_event": "start",
                                                "job_name": "panel"}),
                mqtt(local("09:35"), "m/cnc-1", {"ts": local("09:35"), "job_event": "end",
                                                "job_outcome": "good"})]
    lines = replay(tmp_path, setup, sorted(entries, key=lambda e: str(e["time"])))
    (job,) = [line for line in lines if line.measurement == "job"]
    assert job.fields["pm2_5_ugm3_rise"] == pytest.approx(20.0)
    assert job.fields["voc_index_rise"] == pytest.approx(0.0)
    assert "particles_03_per_dl_rise" not in job.fields


def test_the_monthly_report_gains_cohabitation(tmp_path: Path) -> None:
    from tests.replayed import report_tables

    page, tables = report_tables(tmp_path, config(), evening(), "2026-11")

    def table(name: str) -> list[dict[str, str]]:
        return tables[name]

    periods = {row["period"]: row for row in table("noise_periods")}
    assert periods["day"]["over_limit"] == "1" and float(periods["day"]["hours_over"]) == 0.5
    assert periods["night"]["over_limit"] == "1"  # 50 dB(A) past midnight, over 45
    assert periods["evening"]["over_limit"] == "0"
    assert table("noise_machines") == [{"machine": "cnc-1", "minutes_over": "30"}]
    (pla,) = table("fingerprints")
    assert pla["material"] == "PLA" and float(pla["pm2_5_ugm3_rise"]) == pytest.approx(30.0)
    assert "Cohabitation: noise at the façade" in page.read_text()
