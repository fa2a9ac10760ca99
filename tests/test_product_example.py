"""The worked example of docs/metrics.md ("Worked example: one product, three batches"):
the hinge over three batches on two printers, with a rework, a changeover, a tariff
change at 17:00 and a recycled lot with its price, replayed in Brussels time, whole and
cut anywhere; every figure is the one worked out by hand there, to 0.1 %."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import parse_config
from edge.storage.line_protocol import Fields, Line, last_writes
from tests.replayed import around_the_clock, mqtt, replay, replay_in_parts, utc

SAY = "circlemade/s/"
DAY = {"B-1": "2026-11-23", "B-2": "2026-11-24", "B-3": "2026-11-25"}


def local(day: str, clock: str) -> int:
    """Unix seconds of a Brussels time in November (UTC+1)."""
    return utc(f"{day}T{clock}:00") - 3600


def config() -> dict[str, Any]:
    site = around_the_clock(timezone="Europe/Brussels")
    printer = {"kind": "printer", "material": "PETG", "stock_g": {"*": 100.0}}
    return {**site, "site": {**site["site"], "labour_per_h": 30.0,
                             "material_per_kg": {"PETG": 30.0}},
            "tariffs": [{"name": "day", "eur_per_kwh": 0.20, "start": "07:00", "end": "17:00"},
                        {"name": "evening", "eur_per_kwh": 0.30, "start": "17:00",
                         "end": "22:00"},
                        {"name": "night", "eur_per_kwh": 0.10}],
            "products": [{"name": "hinge", "cost_target": 30.0}],
            "machines": [{**printer, "id": p, "rate_per_h": rate, "sources": [
                {"topic": f"p/{p}", "profile": "json",
                 "time": {"path": "ts", "format": "unix_s"}}]}
                for p, rate in (("p1", 6.0), ("p2", 12.0))]}


class Meters:
    """Each printer's energy counter: 0.6 kWh per job, spent evenly over it."""

    def __init__(self) -> None:
        self.kwh = {"p1": 0.0, "p2": 0.0}

    def job(self, machine: str, day: str, start: str, end: str,
            outcome: str = "good") -> list[dict[str, Any]]:
        t0, t1 = local(day, start), local(day, end)
        before = self.kwh[machine]
        self.kwh[machine] += 0.6
        topic = f"p/{machine}"
        return [mqtt(t0, topic, {"ts": t0, "energy_kwh": before}),
                mqtt(t0, topic, {"ts": t0, "state": "running", "job_event": "start",
                                 "job_name": "hinge.gcode"}),
                mqtt(t1, topic, {"ts": t1, "energy_kwh": self.kwh[machine]}),
                mqtt(t1, topic, {"ts": t1, "state": "idle", "job_event": "end",
                                 "job_outcome": outcome})]


def batch(machine: str, day: str, clock: str, action: str, name: str,
          quantity: int = 0) -> dict[str, Any]:
    said: dict[str, Any] = {"action": action, "batch": name,
                            "time": f"{day}T{int(clock[:2]) - 1:02d}{clock[2:]}:00Z"}
    if action == "start":
        said |= {"product": "hinge", "quantity": quantity}
    return mqtt(local(day, clock), SAY + f"{machine}/batch", said)


def recording() -> list[dict[str, Any]]:
    m, (d1, d2, d3) = Meters(), DAY.values()
    start = local(d1, "07:00")
    return [
        *(mqtt(start, f"p/{p}", {"ts": start, "state": "idle", "energy_kwh": 0.0})
          for p in ("p1", "p2")),
        mqtt(start, SAY + "p1/material", {"action": "load", "lot": "rPETG-7", "material":
                                          "PETG", "recycled_pct": 50, "price_per_kg": 20.0}),
        # B-1, Monday, on p1: four 60-minute jobs; the second needed rework
        batch("p1", d1, "08:00", "start", "B-1", 4),
        *m.job("p1", d1, "08:10", "09:10"), *m.job("p1", d1, "09:10", "10:10"),
        mqtt(local(d1, "10:11"), SAY + "p1/verdict", {"good": 1, "rework": 1}),
        *m.job("p1", d1, "10:10", "11:10"), *m.job("p1", d1, "11:10", "12:10"),
        batch("p1", d1, "12:15", "end", "B-1"),
        # B-2, Tuesday, on p1 and p2; p1's third job spans the tariff change at 17:00
        batch("p1", d2, "14:00", "start", "B-2", 6),
        batch("p2", d2, "14:00", "start", "B-2", 6),
        batch("p1", d2, "14:05", "start", "B-2", 6),  # again: nothing changes
        *m.job("p2", d2, "14:20", "15:05"), *m.job("p1", d2, "14:30", "15:15"),
        *m.job("p2", d2, "15:05", "15:55"), *m.job("p1", d2, "15:15", "16:00"),
        *m.job("p2", d2, "15:55", "16:40", "scrap"),
        batch("p2", d2, "16:45", "end", "B-2"),
        *m.job("p1", d2, "16:30", "17:15"),
        # B-3, Wednesday, on p1: its start ends B-2 there (a changeover of 20 minutes)
        batch("p1", d3, "08:00", "start", "B-3", 4),
        *(job for begin, end in (("08:20", "09:00"), ("09:00", "09:40"),
                                 ("09:40", "10:20"), ("10:20", "11:00"))
          for job in m.job("p1", d3, begin, end)),
        batch("p1", d3, "11:05", "end", "B-3"),
    ]


def written(lines: list[Line], measurement: str, **tags: str) -> Fields:
    """The last point of the series (by time), as last written."""
    kept = sorted((time_ns, fields) for (name, key, time_ns), fields
                  in last_writes(lines).items()
                  if name == measurement and tags.items() <= dict(key).items())
    return kept[-1][1]


BY_HAND = {
    "B-1": {"parts": 4, "good_parts": 4, "fpy": 0.75, "rework_ratio": 0.25, "scrap_ratio": 0,
            "setup_s": 600, "run_s": 14_400, "cycle_s": 3600, "cycle_cv": 0,
            "energy_eur_per_good_part": 0.12, "material_eur_per_good_part": 2.0,
            "machine_eur_per_good_part": 6.0, "labour_eur_per_good_part": 30.0,
            "cost_per_good_part": 38.12, "recycled_g_per_good_part": 50.0,
            "kwh_per_good_part": 0.6, "co2e_kg_per_good_part": 0.096, "remaining": 0},
    "B-2": {"parts": 6, "good_parts": 5, "fpy": 5 / 6, "rework_ratio": 0, "scrap_ratio": 1 / 6,
            "setup_s": 3000, "run_s": 16_500, "setup_ratio": 3000 / 19_500, "cycle_s": 2700,
            "cycle_cv": 120 / 2760, "energy_eur_per_good_part": 0.148,
            "material_eur_per_good_part": 3.0, "machine_eur_per_good_part": 8.3,
            "labour_eur_per_good_part": 27.5, "cost_per_good_part": 38.948,
            "recycled_g_per_good_part": 30.0, "remaining": 1, "short": 1, "machines": 2,
            "kwh_per_good_part": 0.72, "co2e_kg_per_good_part": 0.1152},
    "B-3": {"parts": 4, "good_parts": 4, "fpy": 1.0, "setup_s": 1200, "run_s": 9600,
            "cycle_s": 2400, "energy_eur_per_good_part": 0.12,
            "material_eur_per_good_part": 2.0, "machine_eur_per_good_part": 4.0,
            "labour_eur_per_good_part": 20.0, "cost_per_good_part": 26.12},
}
LEARNING = {"learning_rate": 0.8644, "learning_rate_low": 0.2879,
            "learning_rate_high": 2.5956, "r2": 0.7393, "first_part_s": 4325.8,
            "cumulative_good": 13}
CARD = {"batches": (3, 3, 1, 0), "fpy": (0.75, 0.95, 0, 0.20),
        "cycle_cv": (120 / 2760, 0.10, 1, 0), "cost": (38.948, 30.0, 0, 8.948),
        "ready": (2, 4, 0, 2)}


def check(lines: list[Line]) -> None:
    for name, figures in BY_HAND.items():
        found = written(lines, "batch", batch=name)
        for figure, value in figures.items():
            assert found[figure] == pytest.approx(value, rel=1e-3, abs=1e-9), (name, figure)
    learning = written(lines, "learning", product="hinge")
    for figure, value in LEARNING.items():
        assert learning[figure] == pytest.approx(value, rel=1e-3), figure
    for criterion, (value, limit, passes, off_by) in CARD.items():
        found = written(lines, "readiness", criterion=criterion)
        assert (found["value"], found["limit"], found["passes"], found["off_by"]) == \
            pytest.approx((value, limit, passes, off_by), rel=1e-3, abs=1e-9), criterion


def test_the_worked_example_by_hand(tmp_path: Path) -> None:
    lines = replay(tmp_path, config(), recording())
    check(lines)
    last_day = written(lines, "product", product="hinge", window="day")  # Wednesday
    assert last_day["good_parts"] == 4.0  # B-3's four
    month = written(lines, "product", product="hinge", window="month")
    assert (month["parts"], month["good_parts"], month["batches"]) == (14.0, 13.0, 3.0)
    assert month["setup_s"] == 600 + 3000 + 1200


def test_the_learning_rate_by_hand() -> None:
    """The fit docs/metrics.md works out: ln(time per good part) on ln(midpoint)."""
    xs = [math.log(2), math.log(6.5), math.log(11)]
    ys = [math.log(3600), math.log(3300), math.log(2400)]
    mx, my = sum(xs) / 3, sum(ys) / 3
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs)
    assert 2 ** b == pytest.approx(LEARNING["learning_rate"], rel=1e-3)


@pytest.mark.parametrize("cut", [5, 12, 23, 40, 61, 70])
def test_a_restart_anywhere_changes_no_figure(cut: int) -> None:
    entries = list(enumerate(recording(), 1))
    check(replay_in_parts(parse_config(config()), [entries[:cut], entries[cut:]]))


def test_the_monthly_report_and_the_footprint_carry_the_batches(tmp_path: Path) -> None:
    """The report's batches and series tables, and the product's PACT footprint, hold the
    figures worked out by hand."""
    import csv

    import jsonschema
    import orjson
    import tomli_w

    from circlemade.cli import main
    from tests.pact_schema import PRODUCT_FOOTPRINT
    from tests.replayed import write_recording

    (tmp_path / "site.toml").write_text(tomli_w.dumps(config()))
    write_recording(tmp_path / "site.jsonl", recording())
    assert main(["report", "-c", str(tmp_path / "site.toml"), "--month", "2026-11",
                 "--from-recording", str(tmp_path / "site.jsonl"),
                 "-o", str(tmp_path / "site.html")]) == 0
    export = tmp_path / "site-export"
    with (export / "s-2026-11-batches.csv").open() as file:
        made = {row["batch"]: row for row in csv.DictReader(file)}
    assert list(made) == ["B-1", "B-2", "B-3"]
    for name, figures in BY_HAND.items():
        assert float(made[name]["cost_per_good_part"]) == pytest.approx(
            figures["cost_per_good_part"], rel=1e-3)
        assert float(made[name]["fpy"]) == pytest.approx(figures["fpy"], rel=1e-3)
    with (export / "s-2026-11-series.csv").open() as file:
        (hinge,) = list(csv.DictReader(file))
    assert float(hinge["learning_rate"]) == pytest.approx(LEARNING["learning_rate"], rel=1e-3)
    assert (hinge["ready"], hinge["failing"]) == ("no", "cost off by 8.95; fpy off by 0.2")
    footprint = orjson.loads((export / "s-2026-11-hinge.footprint.json").read_bytes())
    jsonschema.validate(footprint, PRODUCT_FOOTPRINT)  # still a PACT footprint
    (batches,) = [e["data"]["batches"] for e in footprint["extensions"]
                  if e["dataSchema"] == "urn:circlemade:batch-extension:1"]
    assert [b["batch"] for b in batches] == ["B-1", "B-2", "B-3"]
    assert batches[1]["cost_per_good_part"] == pytest.approx(38.948, rel=1e-3)
    assert "From prototype to series" in (tmp_path / "site.html").read_text()
