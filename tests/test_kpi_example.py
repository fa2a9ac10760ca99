"""The worked example of docs/metrics.md: replay its recording and check every number of
its table, to 0.5 %."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edge.config import parse_config
from edge.recording import replay_to_file
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
