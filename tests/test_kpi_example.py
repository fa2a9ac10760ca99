"""The worked example of docs/metrics.md: replay its recording and check every number of
its table, to 0.5 %."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from edge.service.config import parse_config
from edge.tools.recording import replay_to_file
from tests.conftest import REPO
from tests.kpi_session import CONFIG, T0, recording

T0_NS = T0 * 10**9


def documented(section: str = "## Worked example\n") -> list[tuple[str, str, float]]:
    """(point, field, value) of the table under ``section`` of docs/metrics.md."""
    text = (REPO / "docs" / "metrics.md").read_text()
    table = text.split(section, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("point", "---"):
            rows.append((cells[0], cells[1], float(cells[2].replace(",", ""))))
    return rows


def parse(line: str) -> tuple[str, dict[str, str], dict[str, float], int]:
    head, fields, time = line.split(" ")  # no spaces in this example's tags or texts
    measurement, *tags = head.split(",")
    values = {}
    for item in fields.split(","):
        key, value = item.split("=", 1)
        if not value.startswith('"'):
            values[key] = float(value)
    return measurement, dict(t.split("=", 1) for t in tags), values, int(time)


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float]]:
    path = tmp_path_factory.mktemp("kpi") / "session.jsonl"
    path.write_bytes(recording())
    out = io.StringIO()
    replay_to_file(parse_config(CONFIG), path, out)
    found: dict[str, dict[str, float]] = {}
    for line in out.getvalue().splitlines():
        measurement, tags, values, time = parse(line)
        machine = tags.get("machine", "")
        if measurement == "job":
            key = f"job {machine}"
            if machine == "mill":
                key += f" {tags['outcome']}"
            found[key] = values
        elif measurement in ("oee", "circularity") and tags["window"] == "hour" and time == T0_NS:
            found[f"{measurement} {machine} hour"] = values
        elif measurement == "energy_hourly" and time == T0_NS:
            found[f"energy_hourly {tags['meter']} hour"] = values
        elif measurement == "energy" and T0_NS <= time <= T0_NS + 3600 * 10**9:
            found[f"energy {machine}"] = values  # the last one of the hour
    return found


def test_the_table_is_there() -> None:
    assert len(documented()) >= 25


@pytest.mark.parametrize(("point", "field", "value"), documented())
def test_documented_figure(points: dict[str, dict[str, float]], point: str, field: str,
                           value: float) -> None:
    assert point in points, f"no {point} point in the replay"
    assert points[point][field] == pytest.approx(value, rel=0.005, abs=1e-9)


def test_documented_recording_replays_identically(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_bytes(recording())
    runs = []
    for _ in range(2):
        out = io.StringIO()
        replay_to_file(parse_config(CONFIG), path, out)
        runs.append(out.getvalue())
    assert runs[0] == runs[1] and runs[0]


def test_each_hours_meters_add_up_to_the_machines_hour(tmp_path: Path) -> None:
    """The same session with a second meter on p1 (its own, reporting power): per machine
    and hour, the meters' energy_hourly is the circularity hour's energy_kwh."""
    path = tmp_path / "session.jsonl"
    extra = [orjson.dumps({"time": f"2026-11-23T08:{minute:02d}:00Z", "source": "mqtt",
                           "topic": "ex/p1-own", "payload": orjson.dumps(
                               {"power_w": 30.0}).decode()})
             for minute in range(0, 60, 5)]  # 07:00-08:00 UTC is 08:00-09:00 in Brussels
    path.write_bytes(b"\n".join([*extra, *recording().splitlines()]) + b"\n")
    config = {**CONFIG, "machines": [
        {**m, "sources": [*m["sources"], {"topic": "ex/p1-own", "profile": "json",
                                          "meter": "p1-own"}]} if m["id"] == "p1" else m
        for m in CONFIG["machines"]]}
    out = io.StringIO()
    replay_to_file(parse_config(config), path, out)
    machines: dict[tuple[str, int], float] = {}
    series: dict[tuple[str, str, int], float] = {}
    for line in out.getvalue().splitlines():
        measurement, tags, values, time = parse(line)
        if measurement == "circularity" and tags["window"] == "hour":
            machines[tags["machine"], time] = values["energy_kwh"]
        elif measurement == "energy_hourly":  # a later write of a point replaces it
            series[tags["machine"], tags["meter"], time] = values["energy_kwh"]
    meters: dict[tuple[str, int], float] = {}
    for (machine, _, time), kwh in series.items():
        meters[machine, time] = meters.get((machine, time), 0.0) + kwh
    assert {meter for _, meter, _ in series} == {"plug-p1", "p1-own", "plug-p2", "mill"}
    assert machines and meters.keys() == {k for k, v in machines.items() if v}
    for key, kwh in meters.items():
        assert kwh == pytest.approx(machines[key], rel=1e-6), key
