"""Batches worked out by hand: three hinges asked for, three jobs of one part, the second
judged scrap by a person. Replayed whole, cut anywhere, with a repeated start; what cannot
be applied is refused saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.service.config import parse_config
from edge.storage.line_protocol import Fields, Line, last_writes, parse
from edge.tools.recording import Replayer
from tests.replayed import around_the_clock, mqtt, replay, replay_in_parts, utc

T0 = utc("2026-11-23T08:00:00")
M = 60
SAY = "circlemade/s/p1/"


def config() -> dict[str, Any]:
    return {**around_the_clock(), "machines": [{"id": "p1", "kind": "printer", "sources": [
        {"topic": "p/p1", "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]}]}


def job(start: int, end: int) -> list[dict[str, Any]]:
    return [mqtt(T0 + start, "p/p1", {"ts": T0 + start, "state": "running",
                                      "job_event": "start", "job_name": "hinge.gcode"}),
            mqtt(T0 + end, "p/p1", {"ts": T0 + end, "state": "idle", "job_event": "end",
                                    "job_outcome": "good"})]


def recording() -> list[dict[str, Any]]:
    start = {"action": "start", "batch": "B-1", "product": "hinge", "quantity": 3}
    return [mqtt(T0, "p/p1", {"ts": T0, "state": "idle"}),
            mqtt(T0, SAY + "batch", {**start, "time": "2026-11-23T08:00:00Z"}),
            *job(10 * M, 40 * M),
            mqtt(T0 + 42 * M, SAY + "batch", start),  # the same start again: nothing changes
            *job(45 * M, 75 * M),
            mqtt(T0 + 76 * M, SAY + "verdict", {"good": 0, "scrap": 1, "reason": "warping"}),
            *job(80 * M, 120 * M),
            mqtt(T0 + 125 * M, SAY + "batch", {"action": "end", "batch": "B-1"}),
            mqtt(T0 + 130 * M, SAY + "batch", {"action": "end", "batch": "B-9"})]


def batch(lines: list[Line]) -> Fields:
    (fields,) = [fields for (name, tags, _), fields in last_writes(lines).items()
                 if name == "batch" and dict(tags)["batch"] == "B-1"]
    return fields


def test_a_batch_worked_out_by_hand(tmp_path: Path) -> None:
    found = batch(replay(tmp_path, config(), recording()))
    assert (found["quantity"], found["jobs"], found["parts"]) == (3.0, 3.0, 3.0)
    assert (found["good_parts"], found["remaining"], found["short"]) == (2.0, 1.0, 1.0)
    assert found["fpy"] == pytest.approx(2 / 3)  # the second job's first verdict: scrap
    assert found["setup_s"] == 600.0  # 08:00 to the first job's start at 08:10
    # time per good part: 1,800 s (job 1) and 2,400 s (job 3); job 2 made none
    assert found["cycle_s"] == pytest.approx(2100.0)
    assert found["cycle_cv"] == pytest.approx(300 / 2100)
    assert found["ended"] == 1.0


@pytest.mark.parametrize("cut", [2, 4, 6, 8, 10])
def test_a_restart_anywhere_changes_no_figure(tmp_path: Path, cut: int) -> None:
    entries = list(enumerate(recording(), 1))
    whole = batch(replay(tmp_path, config(), recording()))
    parts = replay_in_parts(parse_config(config()), [entries[:cut], entries[cut:]])
    assert batch(parts) == whole


def test_ending_a_batch_that_is_not_running_is_refused(
        caplog: pytest.LogCaptureFixture) -> None:
    replayer = Replayer(parse_config(config()))
    list(replayer.lines(enumerate(recording(), 1)))
    counted = replayer.health.snapshot()
    assert sum(fields.get("decode_errors", 0) for fields in counted.values()) == 1
    assert any("'B-9' is not running on p1" in str(getattr(r, "fields", {}).get("error", ""))
               for r in caplog.records)


@pytest.mark.parametrize(("said", "why"), [
    ({"action": "start", "batch": "B-1", "product": "hinge", "quantity": 3},
     "'B-1' ended; a new batch needs a new id"),
    ({"action": "start", "batch": "B-2", "product": "bracket", "quantity": 3},
     "'B-2' is of product 'hinge'"),
])
def test_a_start_that_cannot_be_applied_is_refused(
        said: dict[str, Any], why: str, caplog: pytest.LogCaptureFixture) -> None:
    """A start of an ended batch, or of a running one under another product: refused
    and counted (the live service also keeps it as a dead letter, as every
    reading the KPI stage refuses: tests/test_poison_input.py); the batch running goes on."""
    second = [mqtt(T0 + 130 * M, SAY + "batch", {"action": "start", "batch": "B-2",
                                                 "product": "hinge", "quantity": 2}),
              mqtt(T0 + 131 * M, SAY + "batch", said), *job(140 * M, 170 * M)]
    replayer = Replayer(parse_config(config()))
    lines = list(replayer.lines(enumerate([*recording()[:-1], *second], 1)))
    counted = replayer.health.snapshot()
    assert sum(fields.get("decode_errors", 0) for fields in counted.values()) == 1
    assert any(why in str(getattr(r, "fields", {}).get("error", "")) for r in caplog.records)
    running = [parse(line) for line in lines if line.startswith("batch,")]
    assert [p.fields["jobs"] for p in running if p.tags["batch"] == "B-2"][-1] == 1.0
