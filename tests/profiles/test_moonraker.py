from __future__ import annotations

import orjson
import pytest

from gateways.decoding import DecodeError
from gateways.profiles import moonraker
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import decoder_for, values

(STATUS,) = literal_blocks(moonraker.__doc__ or "")
SOURCE = {"topic": "voron/#", "profile": "moonraker"}
TOPIC = "voron/klipper/status"


def status(**objects: object) -> bytes:
    return orjson.dumps({"eventtime": 1.0, "status": objects})


def test_the_documented_status() -> None:
    readings = decoder_for(SOURCE).decode(TOPIC, STATUS.encode(), 9)
    assert values(readings) == {
        "nozzle_temp_c": 249.7, "nozzle_target_c": 250.0, "bed_temp_c": 104.9,
        "bed_target_c": 105.0, "progress_pct": pytest.approx(42.13),
        "filament_used_mm": 3812.6, "layer": 88.0, "state": "running",
        "job_event": "start", "job_name": "gear-housing_ABS.gcode",
    }


@pytest.mark.parametrize(("state", "outcome"),
                         [("complete", "good"), ("cancelled", "aborted"), ("error", "scrap")])
def test_job_end_carries_the_outcome_and_the_filament(state: str, outcome: str) -> None:
    decoder = decoder_for(SOURCE)
    decoder.decode(TOPIC, STATUS.encode(), 1)
    decoder.decode(TOPIC, status(print_stats={"filament_used": 4100.5}), 2)
    end = values(decoder.decode(TOPIC, status(print_stats={"state": state}), 3))
    assert end["job_outcome"] == outcome
    assert end["filament_used_mm"] == 4100.5


def test_klippy_and_moonraker_availability() -> None:
    decoder = decoder_for(SOURCE)
    assert values(decoder.decode("voron/klipper/state", b"shutdown", 1)) == {"state": "fault"}
    assert decoder.decode("voron/klipper/state", b"ready", 1) == []
    assert values(decoder.decode("voron/moonraker/status", b'{"server": "offline"}', 1)) == {
        "state": "offline"}


def test_bad_status_says_where() -> None:
    decoder = decoder_for(SOURCE)
    with pytest.raises(DecodeError, match="status.extruder: expected an object"):
        decoder.decode(TOPIC, status(extruder=5), 1)
    with pytest.raises(DecodeError, match="print_stats.state: unknown state 'melting'"):
        decoder.decode(TOPIC, status(print_stats={"state": "melting"}), 1)
