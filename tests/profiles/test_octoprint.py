from __future__ import annotations

import pytest

from gateways.decoding import DecodeError
from gateways.profiles import octoprint
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values

SOURCE = {"topic": "octoPrint/#", "profile": "octoprint"}


def documented_messages() -> list[tuple[str, bytes]]:
    """The docstring's table: a topic, spaces, a payload that may go on indented lines."""
    (block,) = literal_blocks(octoprint.__doc__ or "")
    messages: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line.startswith("octoPrint/"):
            topic, payload = line.split(None, 1)
            messages.append((topic, payload.split("(")[0].strip()))
        else:
            topic, payload = messages[-1]
            messages[-1] = (topic, payload + " " + line.strip())
    return [(t, p.encode()) for t, p in messages]


def test_the_documented_messages() -> None:
    decoder = decoder_for(SOURCE)
    decoded = [values(decoder.decode(t, p, 0)) for t, p in documented_messages()]
    assert decoded == [
        {"nozzle_temp_c": 214.8, "nozzle_target_c": 215.0},
        {"bed_temp_c": 59.9, "bed_target_c": 60.0},
        {"progress_pct": 42.0},
        {"state": "running", "job_event": "start", "job_name": "clip_PETG.gcode"},
        {"state": "idle", "job_event": "end", "job_name": "clip_PETG.gcode",
         "job_outcome": "good"},
        {"state": "offline"},
    ]


def test_event_timestamps_are_used() -> None:
    readings = decoder_for(SOURCE).decode(
        "octoPrint/event/PrintPaused", b'{"_timestamp": 1763812800, "name": "a"}', 5)
    assert [(r.signal, r.value, r.time_ns) for r in readings] == [
        ("state", "stopped", 1763812800 * 10**9)]


def test_a_cancelled_print_ends_once_as_aborted() -> None:
    decoder = decoder_for(SOURCE)
    decoder.decode("octoPrint/event/PrintStarted", b'{"name": "a.gcode"}', 1)
    assert decoder.decode("octoPrint/event/PrintFailed", b'{"reason": "cancelled"}', 2) == []
    end = values(decoder.decode("octoPrint/event/PrintCancelled", b'{"name": "a.gcode"}', 3))
    assert end["job_outcome"] == "aborted"


def test_unknown_events_and_tools_yield_nothing_and_bad_payloads_say_why() -> None:
    decoder = decoder_for(SOURCE)
    assert decoder.decode("octoPrint/event/ClientOpened", b"{}", 1) == []
    assert decoder.decode("octoPrint/temperature/tool1", b'{"actual": 1}', 1) == []
    with pytest.raises(DecodeError, match="expected a JSON object, got str"):
        decoder.decode("octoPrint/event/PrintDone", b'"done"', 1)
    with pytest.raises(DecodeError, match="actual: expected a number"):
        decoder.decode("octoPrint/temperature/bed", b'{"actual": "warm"}', 1)
