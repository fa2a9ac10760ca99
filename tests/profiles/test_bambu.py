from __future__ import annotations

import orjson
import pytest

from gateways.decoding import DecodeError
from gateways.profiles import bambu
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values

REPORT, H2D_REPORT = literal_blocks(bambu.__doc__ or "")
TOPIC = "device/01P00A391800123/report"  # a P1S
X1C = "device/00M09A350100427/report"


def report(**fields: object) -> bytes:
    return orjson.dumps({"print": {"command": "push_status", "msg": 1, **fields}})


def test_the_documented_x1_report() -> None:
    readings = decoder_for({"topic": X1C, "profile": "bambu"}).decode(X1C, REPORT.encode(), 7)
    assert values(readings) == {
        "progress_pct": 37.0, "remaining_time_s": 3120.0, "layer": 61.0, "total_layers": 164.0,
        "nozzle_temp_c": 219.96875, "nozzle_target_c": 220.0, "bed_temp_c": 54.96875,
        "bed_target_c": 55.0, "chamber_temp_c": 31.0, "state": "running",
        "job_event": "start", "job_name": "hinge-bracket_PLA",
    }
    assert {r.time_ns for r in readings} == {7}


def test_p1_partial_reports_are_merged_and_jobs_end_once() -> None:
    decoder = decoder_for({"topic": TOPIC, "profile": "bambu"})
    decoder.decode(TOPIC, report(gcode_state="RUNNING", subtask_name="clip"), 1)
    assert values(decoder.decode(TOPIC, report(nozzle_temper=220.5), 2)) == {"nozzle_temp_c": 220.5}
    assert decoder.state["subtask_name"] == "clip"  # type: ignore[attr-defined]
    end = values(decoder.decode(TOPIC, report(gcode_state="FINISH"), 3))
    assert end == {"state": "idle", "job_event": "end", "job_name": "clip", "job_outcome": "good"}
    assert values(decoder.decode(TOPIC, report(gcode_state="FINISH"), 4)) == {"state": "idle"}


@pytest.mark.parametrize(("error", "outcome"), [(50348044, "aborted"), (0, "scrap")])
def test_failed_jobs_are_scrap_unless_cancelled(error: int, outcome: str) -> None:
    decoder = decoder_for({"topic": TOPIC, "profile": "bambu"})
    decoder.decode(TOPIC, report(gcode_state="PREPARE", subtask_name="x"), 1)
    readings = values(decoder.decode(TOPIC, report(gcode_state="FAILED", print_error=error), 2))
    assert readings["state"] == "fault" and readings["job_outcome"] == outcome


def test_other_reports_yield_nothing_and_bad_ones_say_why() -> None:
    decoder = decoder_for({"topic": TOPIC, "profile": "bambu"})
    assert decoder.decode(TOPIC, b'{"info": {"command": "get_version"}}', 1) == []
    with pytest.raises(DecodeError, match="print.gcode_state: unknown state 'WARPING'"):
        decoder.decode(TOPIC, report(gcode_state="WARPING"), 1)
    with pytest.raises(DecodeError, match="print.nozzle_temper: expected a number"):
        decoder.decode(TOPIC, report(nozzle_temper="hot"), 1)
    with pytest.raises(DecodeError, match="not JSON"):
        decoder.decode(TOPIC, b'{"print": {"mc_perc', 1)


def test_the_h2d_reports_its_active_nozzle_and_chamber_from_device() -> None:
    topic = "device/0948AB4C1900123/report"
    decoder = decoder_for({"topic": topic, "profile": "bambu"})
    found = values(decoder.decode(topic, H2D_REPORT.encode(), 1))
    assert (found["nozzle_temp_c"], found["nozzle_target_c"]) == (264.0, 264.0)
    assert found["chamber_temp_c"] == 48.0
    # the other nozzle prints now (state bits 4-7), in a partial report
    switch = {"print": {"device": {"extruder": {"state": 0x12, "info": [
        {"id": 0, "temp": 150}, {"id": 1, "temp": (250 << 16) | 231}]}},
        "nozzle_temper": 150}}
    assert values(decoder.decode(topic, orjson.dumps(switch), 2)) == {
        "nozzle_temp_c": 231.0, "nozzle_target_c": 250.0}


@pytest.mark.parametrize(("topic", "model", "chamber"), [
    ("device/01P00A391800123/report", None, False),  # P1S by its serial
    ("device/03900C4A2100777/report", None, False),  # A1
    ("device/printer/report", "A1MINI", False),
    ("device/00M09A350100427/report", None, True)])  # X1C: a real sensor
def test_a_placeholder_chamber_is_left_out(topic: str, model: str | None,
                                           chamber: bool) -> None:
    source = {"topic": topic, "profile": "bambu", **({"model": model} if model else {})}
    found = values(decoder_for(source).decode(topic, report(chamber_temper=5), 1))
    assert ("chamber_temp_c" in found) is chamber
