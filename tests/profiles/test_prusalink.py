"""PrusaLink without a network: the documents its docstring shows (Prusa's OpenAPI
examples), a job's start, end and outcome, and what a bad answer says."""

from __future__ import annotations

import re

import orjson
import pytest
from pydantic import TypeAdapter, ValidationError

from gateways.decoding import DecodeError
from gateways.profiles import Source, prusalink
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import values

(BLOCK,) = literal_blocks(prusalink.__doc__ or "")
DOCUMENTS = {path: " ".join(body.split()) for path, body in
             re.findall(r"GET (\S+)\s+(\{.*?\})(?=\s*GET |\s*$)", BLOCK, re.DOTALL)}


def status(state: str, job_id: int = 420, progress: float = 42.0) -> str:
    document = orjson.loads(DOCUMENTS["/api/v1/status"])
    document["printer"]["state"] = state
    document["job"].update(id=job_id, progress=progress)
    return orjson.dumps(document).decode()


def test_the_documented_job_and_status_start_a_named_job() -> None:
    decoder = prusalink.PrusaLinkDecoder("bxl", "mk4")
    assert decoder.decode_value("job", DOCUMENTS["/api/v1/job"], 1) == []
    readings = decoder.decode_value("status", DOCUMENTS["/api/v1/status"], 1)
    assert [r.signal for r in readings][:4] == ["state", "job_name", "job_event", "nozzle_temp_c"]
    assert values(readings) == pytest.approx({
        "state": "running", "job_name": "Spice_Harvester_0.3mm_PLA_MK3S_12m.gcode",
        "job_event": "start", "nozzle_temp_c": 214.9, "nozzle_target_c": 215.0,
        "bed_temp_c": 59.5, "bed_target_c": 60.0, "progress_pct": 42.0,
        "filament_used_mm": 5142.06 * 0.42, "remaining_time_s": 520.0})


@pytest.mark.parametrize(("state", "outcome"), [("FINISHED", "good"), ("STOPPED", "aborted"),
                                                ("ERROR", "scrap"), ("IDLE", "unknown")])
def test_a_job_ends_with_the_state_that_follows_it(state: str, outcome: str) -> None:
    decoder = prusalink.PrusaLinkDecoder("bxl", "mk4")
    decoder.decode_value("job", DOCUMENTS["/api/v1/job"], 1)
    decoder.decode_value("status", status("PRINTING"), 1)
    ended = values(decoder.decode_value("status", status(state, progress=63.0), 2))
    assert ended["job_event"] == "end" and ended["job_outcome"] == outcome
    assert ended["job_name"] == "Spice_Harvester_0.3mm_PLA_MK3S_12m.gcode"


def test_a_new_job_id_ends_the_last_job_unseen_and_starts_the_next() -> None:
    decoder = prusalink.PrusaLinkDecoder("bxl", "mk4")
    decoder.decode_value("job", DOCUMENTS["/api/v1/job"], 1)
    decoder.decode_value("status", status("PRINTING", 420), 1)
    decoder.decode_value("job", DOCUMENTS["/api/v1/job"].replace("Spice", "Lid"), 2)
    readings = decoder.decode_value("status", status("PRINTING", 421, 3.0), 2)
    events = [(r.signal, r.value) for r in readings if r.signal.startswith("job")]
    assert events == [("job_name", "Spice_Harvester_0.3mm_PLA_MK3S_12m.gcode"),
                      ("job_event", "end"), ("job_outcome", "unknown"),
                      ("job_name", "Lid_Harvester_0.3mm_PLA_MK3S_12m.gcode"),
                      ("job_event", "start")]


def test_bad_documents_say_what_was_expected() -> None:
    decoder = prusalink.PrusaLinkDecoder("bxl", "mk4")
    with pytest.raises(DecodeError, match="status: not JSON"):
        decoder.decode_value("status", '{"printer": {"state": "PRINT', 1)
    with pytest.raises(DecodeError, match="expected printer.state, one of PRINTING"):
        decoder.decode_value("status", '{"printer": {"state": "TOASTING"}}', 1)


def test_prusalink_needs_a_login() -> None:
    with pytest.raises(ValidationError, match="api_key_env: PrusaLink needs its API key"):
        TypeAdapter(Source).validate_python({"endpoint": "http://mk4.local",
                                             "profile": "prusalink"})
