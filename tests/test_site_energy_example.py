"""The worked example of docs/metrics.md ("Worked example: the site's energy"): a Friday
morning in Brussels with solar, a laser and a CNC mill that start together, two
``peak`` rules (one fires three times, one never), and the night the clocks go back
with a restart in the middle of a quarter. Every quarter, the peak, the bill and every
alert time are the ones worked out by hand there."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge.service.config import parse_config
from edge.storage.line_protocol import Fields, Line, last_writes
from tests.replayed import around_the_clock, mqtt, replay, replay_in_parts, utc

MIN = 60
Schedule = list[tuple[str, str, float]]
"""(from, to, kW) in UTC, ``2026-10-23T08:30``."""


def config(**grid: Any) -> dict[str, Any]:
    site = around_the_clock(timezone="Europe/Brussels")
    source = {"profile": "json", "time": {"path": "ts", "format": "unix_s"}}
    return {**site, "site": {**site["site"], "grid_meter": "main"},
            "grid": {"capacity_eur_per_kw_year": 60.0, "minimum_peak_kw": 2.5,
                     "injection_eur_per_kwh": 0.05, **grid},
            "tariffs": [{"name": "peak", "eur_per_kwh": 0.36, "start": "07:00", "end": "11:00"},
                        {"name": "normal", "eur_per_kwh": 0.28, "start": "11:00",
                         "end": "17:00"},
                        {"name": "peak", "eur_per_kwh": 0.36, "start": "17:00", "end": "22:00"},
                        {"name": "off-peak", "eur_per_kwh": 0.22}],
            "alerts": [{"rule": "peak"}, {"rule": "peak", "above_kw": 8.0}],
            "machines": [{"id": "main", "kind": "meter", "name": "Grid",
                          "sources": [{**source, "topic": "m/main"}]},
                         *({"id": m, "kind": kind, "sources": [{**source, "topic": f"m/{m}"}]}
                           for m, kind in (("laser-1", "laser"), ("cnc-1", "cnc")))]}


def kw_at(schedule: Schedule, t: int) -> float:
    return sum(kw for start, end, kw in schedule if utc(f"{start}:00") <= t < utc(f"{end}:00"))


def on(day: str, *spans: tuple[str, str, float]) -> Schedule:
    return [(f"{day}T{start}", f"{day}T{end}", kw) for start, end, kw in spans]


def session(start: str, minutes: int, net: Schedule,
            machines: dict[str, Schedule], jobs: list[tuple[str, str, str, str]],
            meter: dict[str, dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """A reading a minute of each machine's power, and of the grid meter's counters and
    power (net: import if positive, export if negative); the jobs start and end on the
    minute, after that minute's power."""
    t0 = utc(f"{start}:00")
    imported = exported = 0.0
    entries = []
    for minute in range(minutes + 1):
        t = t0 + minute * MIN
        if minute:
            before = kw_at(net, t - MIN)
            imported += max(before, 0.0) / 60
            exported += max(-before, 0.0) / 60
        now = kw_at(net, t)
        entries.append(mqtt(t, "m/main", {
            "ts": t, "energy_kwh": 1000 + imported, "energy_export_kwh": 500 + exported,
            "power_w": max(now, 0.0) * 1000, "power_export_w": max(-now, 0.0) * 1000,
            **(meter or {}).get(f"{t}", {})}))
        for machine, schedule in machines.items():
            entries.append(mqtt(t, f"m/{machine}", {"ts": t,
                                                    "power_w": kw_at(schedule, t) * 1000}))
        for machine, job, begin, end in jobs:
            for at, event in ((begin, {"job_event": "start", "job_name": job,
                                       "state": "running"}),
                              (end, {"job_event": "end", "job_outcome": "good",
                                     "state": "idle"})):
                if utc(f"{at}:00") == t:
                    entries.append(mqtt(t, f"m/{machine}", {"ts": t, **event}))
    return entries


FRIDAY = "2026-10-23"
"""Brussels is UTC+2 (CEST): 10:30 local is 08:30 UTC."""


def friday() -> list[dict[str, Any]]:
    net = on(FRIDAY, ("08:30", "08:40", -2.0), ("08:40", "09:00", 3.0), ("09:00", "09:15", 6.0),
             ("09:15", "09:20", 1.0), ("09:20", "09:30", 10.0), ("09:30", "10:00", 1.0))
    laser = on(FRIDAY, ("08:40", "09:15", 5.0), ("09:20", "09:30", 5.0))
    cnc = on(FRIDAY, ("09:20", "09:30", 4.0))
    jobs = [("laser-1", job, f"{FRIDAY}T{start}", f"{FRIDAY}T{end}")
            for job, start, end in (("sign_oak", "08:40", "09:15"),
                                    ("tray_birch", "09:20", "09:30"))]
    jobs.append(("cnc-1", "bracket", f"{FRIDAY}T09:20", f"{FRIDAY}T09:30"))
    own = {f"{utc(f'{FRIDAY}T09:29:00')}": {"demand_kw": 6.9, "month_peak_kw": 6.9,
                                            "month_peak_at_s": utc(f"{FRIDAY}T09:30:00")}}
    return session(f"{FRIDAY}T08:30", 82, net, {"laser-1": laser, "cnc-1": cnc}, jobs, own)


def kept(lines: list[Line], measurement: str) -> dict[tuple[int, str], Fields]:
    """The last write of each point: (unix s, machine tag or '') -> fields."""
    return {(time_ns // 10**9, dict(tags).get("machine", "")): fields
            for (name, tags, time_ns), fields in last_writes(lines).items()
            if name == measurement}


def local(day: str, clock: str, offset_h: int) -> int:
    return utc(f"{day}T{clock}:00") - offset_h * 3600


def close(found: float | str | None, expected: float) -> bool:
    return isinstance(found, float) and math.isclose(found, expected, abs_tol=1e-6)


@pytest.fixture(scope="module")
def friday_lines(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    return replay(tmp_path_factory.mktemp("friday"), config(), friday())


def test_every_quarter_of_the_friday(friday_lines: list[Line]) -> None:
    demand = kept(friday_lines, "demand")
    q = {clock: local(FRIDAY, clock, 2) for clock in ("10:30", "10:45", "11:00", "11:15",
                                                     "11:30")}
    expected = {"10:30": (0.25, 1 / 3, -1 / 3, -2.0), "10:45": (0.75, 0.0, 3.0, -2.0),
                "11:00": (1.5, 0.0, 6.0, 1.0), "11:15": (1.75, 0.0, 7.0, 1.0),
                "11:30": (0.25, 0.0, 1.0, 1.0)}
    assert sorted(t for t, _ in demand) == sorted(q.values())
    for clock, (imported, exported, avg, unmetered) in expected.items():
        fields = demand[q[clock], ""]
        assert close(fields["import_kwh"], imported), clock
        assert close(fields["export_kwh"], exported), clock
        assert close(fields["avg_kw"], avg), clock
        assert close(fields["unmetered_kw"], unmetered), clock
        assert close(fields["covered"], 1.0), clock
    assert close(demand[q["11:15"], ""]["meter_avg_kw"], 6.9)
    assert close(demand[q["11:15"], ""]["meter_diff_kw"], 0.1)
    shares = kept(friday_lines, "demand_share")
    assert close(shares[q["10:30"], "laser-1"]["kw"], 5 / 3)
    assert close(shares[q["11:15"], "laser-1"]["kw"], 10 / 3)
    assert close(shares[q["11:15"], "cnc-1"]["kw"], 8 / 3)
    assert close(shares[q["11:15"], "cnc-1"]["share"], 8 / 21)
    assert shares[q["11:15"], "laser-1"]["jobs"] == "tray_birch"
    assert "share" not in shares[q["10:30"], "laser-1"]  # the site gave more than it took


def test_the_peak_two_machines_set_and_its_capacity_cost(friday_lines: list[Line]) -> None:
    month = local("2026-10-01", "00:00", 2)
    peak = kept(friday_lines, "peak")[month, ""]
    assert close(peak["peak_kw"], 7.0) and peak["peak_start"] == "2026-10-23T11:15:00+02:00"
    assert close(peak["billed_kw"], 7.0) and close(peak["rolling_kw"], 7.0)
    assert close(peak["months"], 1.0) and close(peak["capacity_eur"], 35.0)
    assert close(peak["meter_peak_kw"], 6.9) and close(peak["meter_diff_kw"], 0.1)
    assert peak["meter_peak_at"] == "2026-10-23T11:30:00+02:00"
    shares = kept(friday_lines, "peak_share")
    assert close(shares[month, "laser-1"]["kw"], 10 / 3)
    assert close(shares[month, "cnc-1"]["kw"], 8 / 3)
    assert close(shares[month, "unmetered"]["kw"], 1.0)
    assert shares[month, "cnc-1"]["jobs"] == "bracket"


def test_the_bill_by_band_and_machine(friday_lines: list[Line]) -> None:
    month = local("2026-10-01", "00:00", 2)
    bill = {(machine, dict(tags)["band"]): fields
            for (name, tags, t), fields in last_writes(friday_lines).items()
            if name == "energy_bill" and t // 10**9 == month
            for machine in [dict(tags)["machine"]]}
    expected = {("main", "peak"): (1.0, 0.36), ("main", "normal"): (43 / 12, 0.28 * 43 / 12),
                ("main", "injection"): (1 / 3, -1 / 60),
                ("laser-1", "peak"): (5 / 3, 0.6), ("laser-1", "normal"): (25 / 12, 7 / 12),
                ("cnc-1", "normal"): (2 / 3, 0.28 * 2 / 3)}
    assert set(bill) == set(expected)
    for key, (kwh, eur) in expected.items():
        assert close(bill[key]["kwh"], kwh), key
        assert close(bill[key]["eur"], eur), key


def test_every_alert_time_and_the_rule_that_never_fires(friday_lines: list[Line]) -> None:
    alerts = [(line.time_ns // 10**9, line.fields["state"], str(line.fields["message"]))
              for line in friday_lines if line.measurement == "alert"]
    at = {clock: local(FRIDAY, clock[:5], 2) + int(clock[6:] or 0)
          for clock in ("10:45:10", "11:00:00", "11:00:10", "11:15:00", "11:20:10",
                        "11:30:00")}
    assert [(t, state) for t, state, _ in alerts] == [
        (at["10:45:10"], "firing"), (at["11:00:00"], "resolved"), (at["11:00:10"], "firing"),
        (at["11:15:00"], "resolved"), (at["11:20:10"], "firing"), (at["11:30:00"], "resolved")]
    fired = alerts[4][2]
    assert "11:15-11:30 heads for 7.0 kW, above 6.0 kW" in fired
    assert "laser-1 5.0 kW adds 3.3 kW, cnc-1 4.0 kW adds 2.6 kW" in fired
    assert "11:15-11:30 ended at 7.0 kW, above 6.0 kW" in alerts[5][2]
    now = kept(friday_lines, "demand_now")[at["11:20:10"], ""]
    assert close(now["projected_kw"], 7.0) and close(now["threshold_kw"], 6.0)
    assert close(now["present_kw"], 10.0)


NIGHT = "2026-10-25"
"""At 03:00 CEST (01:00 UTC) the clocks go back to 02:00 CET: 02:00-03:00 comes twice."""


def night() -> list[dict[str, Any]]:
    net = [("2026-10-24T23:45", f"{NIGHT}T00:20", 1.0), *on(
        NIGHT, ("00:20", "01:40", 3.0), ("01:40", "02:30", 1.0))]
    return session("2026-10-24T23:45", 156, net, {"cnc-1": on(NIGHT, ("00:20", "01:40", 2.0))},
                   [("cnc-1", "housing_v2", f"{NIGHT}T00:20", f"{NIGHT}T01:40")])


def night_config() -> dict[str, Any]:
    setup = config()
    return {**setup, "alerts": [{"rule": "peak"}]}


def test_the_night_the_clocks_go_back(tmp_path: Path) -> None:
    lines = replay(tmp_path, night_config(), night())
    demand = {local: fields for (t, _), fields in kept(lines, "demand").items()
              for local in [_local(t)]}
    assert list(demand) == [
        "01:45+02:00", "02:00+02:00", "02:15+02:00", "02:30+02:00", "02:45+02:00",
        "02:00+01:00", "02:15+01:00", "02:30+01:00", "02:45+01:00", "03:00+01:00"]
    averages = [3.0 if f"{k}" in ("02:30+02:00", "02:45+02:00", "02:00+01:00", "02:15+01:00")
                else 7 / 3 if k in ("02:15+02:00", "02:30+01:00") else 1.0 for k in demand]
    for (clock, fields), avg in zip(demand.items(), averages, strict=True):
        assert close(fields["avg_kw"], avg), clock
    month = local("2026-10-01", "00:00", 2)
    assert kept(lines, "peak")[month, ""]["peak_start"] == "2026-10-25T02:30:00+02:00"
    alerts = [(_local(line.time_ns // 10**9, seconds=True), line.fields["state"])
              for line in lines if line.measurement == "alert"]
    assert alerts == [("02:30:10+02:00", "firing"), ("02:45:00+02:00", "resolved")]


def _local(t: int, seconds: bool = False) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromtimestamp(t, ZoneInfo("Europe/Brussels"))
    return moment.strftime("%H:%M:%S" if seconds else "%H:%M") + moment.strftime("%z")[:3] \
        + ":" + moment.strftime("%z")[3:]


def test_a_restart_in_the_middle_of_a_quarter_changes_nothing(tmp_path: Path) -> None:
    entries = night()
    whole = replay(tmp_path, night_config(), entries)
    cut = utc(f"{NIGHT}T01:22:30")
    numbered = list(enumerate(entries, 1))
    parsed = parse_config(night_config())
    parts = replay_in_parts(parsed, [
        [(n, e) for n, e in numbered if _t(e) < cut], [(n, e) for n, e in numbered
                                                       if _t(e) >= cut]])
    for measurement in ("demand", "demand_share", "peak", "peak_share", "energy_bill"):
        assert kept(parts, measurement) == kept(whole, measurement), measurement
    assert [line for line in parts if line.measurement == "alert"] == [
        line for line in whole if line.measurement == "alert"]


def _t(entry: dict[str, Any]) -> int:
    return utc(str(entry["time"])[:19])


def test_the_monthly_report_gains_the_peak_who_made_it_and_the_bill(tmp_path: Path) -> None:
    from tests.replayed import report_tables

    page, tables = report_tables(tmp_path, config(), friday(), "2026-10")

    def table(name: str) -> list[dict[str, str]]:
        return tables[name]

    (peak,) = table("peak")
    assert float(peak["peak_kw"]) == pytest.approx(7.0)
    assert peak["peak_start"] == "2026-10-23T11:15:00+02:00"
    assert float(peak["capacity_eur"]) == pytest.approx(35.0)
    shares = {row["machine"]: (float(row["kw"]), row["jobs"]) for row in table("peak_share")}
    assert shares["laser-1"][0] == pytest.approx(10 / 3, rel=1e-5)
    assert shares["cnc-1"][0] == pytest.approx(8 / 3, rel=1e-5)
    assert (shares["laser-1"][1], shares["cnc-1"][1]) == ("tray_birch", "bracket")
    bill = {(row["machine"], row["band"]): float(row["eur"]) for row in table("bill")}
    assert bill[("main", "normal")] == pytest.approx(0.28 * 43 / 12, rel=1e-5)
    assert "Site energy: the month's peak quarter, who made it, and the bill" in \
        page.read_text()


def test_the_meters_own_history_starts_the_rolling_average(tmp_path: Path) -> None:
    """A meter's 13-month history (0-0:98.1.0) fills the months before the edge: with
    July 9.0, August 2.0 (billed 2.5) and September 5.0, October's 7.0 makes the rolling
    average (9 + 2.5 + 5 + 7) / 4 = 5.875 kW over 4 months, 29.375 EUR a month."""
    t0 = utc(f"{FRIDAY}T08:30:00")
    told = mqtt(t0, "m/main", {"ts": t0, "peak_history": orjson.dumps(
        {"2026-07": 9.0, "2026-08": 2.0, "2026-09": 5.0, "2026-10": 1.0}).decode()})
    lines = replay(tmp_path, config(), [told, *friday()])
    peak = kept(lines, "peak")[local("2026-10-01", "00:00", 2), ""]
    assert close(peak["rolling_kw"], 5.875) and close(peak["months"], 4.0)
    assert close(peak["capacity_eur"], 29.375) and close(peak["peak_kw"], 7.0)
