"""MTConnect without a network: the stream its docstring shows, a run's start and end
with a fault between, and what a bad document says."""

from __future__ import annotations

import pytest

from gateways.decoding import DecodeError
from gateways.profiles import mtconnect
from tests.profiles.docstring_examples import literal_blocks
from tests.profiles.helpers import values

STREAM = literal_blocks(mtconnect.__doc__ or "")[0]


def stream(*observations: str) -> str:
    return (f'<MTConnectStreams xmlns="{mtconnect.__name__}"><Header instanceId="1" '
            f'nextSequence="9"/><Streams><DeviceStream name="VF2"><ComponentStream>'
            f"<Events>{''.join(observations)}</Events></ComponentStream></DeviceStream>"
            "</Streams></MTConnectStreams>")


def event(sequence: int, element: str, text: str, second: int = 0) -> str:
    return (f'<{element} dataItemId="{element}" timestamp="2026-12-02T09:00:{second:02d}Z" '
            f'sequence="{sequence}">{text}</{element}>')


def test_the_documented_stream_starts_a_named_run() -> None:
    decoder = mtconnect.MTConnectDecoder("bxl", "vf2", None)
    readings = decoder.decode_value("stream", STREAM, 1)
    assert [r.signal for r in readings] == [
        "state", "job_event", "job_name", "parts_good", "feed_override_pct",
        "spindle_speed_rpm", "feed_rate_mm_min"]
    assert values(readings) == pytest.approx({
        "state": "running", "job_event": "start", "job_name": "O1234", "parts_good": 17.0,
        "feed_override_pct": 100.0, "spindle_speed_rpm": 12000.0, "feed_rate_mm_min": 1500.0})
    assert readings[0].time_ns == 1_796_202_001 * 10**9  # 09:00:01Z, the observation's own


def test_a_fault_ends_the_run_aborted_and_a_clean_one_ends_good() -> None:
    decoder = mtconnect.MTConnectDecoder("bxl", "vf2", None)
    decoder.decode_value("stream", stream(event(1, "Program", "O1"),
                                          event(2, "Execution", "ACTIVE")), 1)
    fault = ('<Fault dataItemId="logic" timestamp="2026-12-02T09:00:05Z" sequence="3">'
             "EMERGENCY STOP</Fault>")
    readings = decoder.decode_value("stream", stream(fault, event(4, "Execution", "STOPPED")), 1)
    assert [(r.signal, r.value) for r in readings] == [
        ("state", "fault"), ("state", "fault"), ("job_name", "O1"), ("job_event", "end"),
        ("job_outcome", "aborted")]
    normal = '<Normal dataItemId="logic" timestamp="2026-12-02T09:01:00Z" sequence="5"/>'
    readings = decoder.decode_value("stream", stream(
        normal, event(6, "Execution", "ACTIVE"), event(7, "Execution", "FEED_HOLD"),
        event(8, "Execution", "READY")), 1)
    assert [(r.signal, r.value) for r in readings if r.signal != "job_name"] == [
        ("state", "stopped"), ("state", "running"), ("job_event", "start"),
        ("state", "stopped"), ("state", "idle"), ("job_event", "end"), ("job_outcome", "good")]


def test_bad_documents_say_what_was_expected() -> None:
    decoder = mtconnect.MTConnectDecoder("bxl", "vf2", None)
    with pytest.raises(DecodeError, match="stream: not XML"):
        decoder.decode_value("stream", "<MTConnectStreams><Header", 1)
    with pytest.raises(DecodeError, match="'SPINNING' is not an MTConnect execution"):
        decoder.decode_value("stream", stream(event(1, "Execution", "SPINNING")), 1)


def test_a_timestamp_without_zone_is_utc_whatever_the_box_zone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Agents pass an adapter's time on without a zone; MTConnect time is UTC. Read on an
    edge set to Europe/Brussels, 09:00:02 must stay 09:00:02 UTC, not 08:00:02."""
    import time

    monkeypatch.setenv("TZ", "Europe/Brussels")
    time.tzset()
    try:
        decoder = mtconnect.MTConnectDecoder("bxl", "vf2", None)
        (reading,) = decoder.decode_value("stream", stream(
            '<PartCount dataItemId="pc" timestamp="2026-12-02T09:00:02.123456" '
            'sequence="3">17</PartCount>'), 1)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert reading.time_ns == (1_796_202_002 * 10**6 + 123_456) * 1000


@pytest.mark.parametrize(("sub_type", "taken"), [
    ("PROGRAMMED", True), (None, True), ("RAPID", False), ("JOG", False)])
def test_the_feed_override_is_the_programmed_one(sub_type: str | None, taken: bool) -> None:
    sub = f' subType="{sub_type}"' if sub_type else ""
    document = stream(f'<PathFeedrateOverride dataItemId="f"{sub} '
                      f'timestamp="2026-12-02T09:00:00Z" sequence="4">80</PathFeedrateOverride>')
    found = values(mtconnect.MTConnectDecoder("bxl", "vf2", None).decode_value(
        "stream", document, 1))
    assert found == ({"feed_override_pct": 80.0} if taken else {})


def test_an_available_machine_that_changes_nothing_is_still_there() -> None:
    """Changes only: an empty sample says nothing. While the device is AVAILABLE its
    state is told again every HEARTBEAT_S, so silence_s does not make it offline."""
    decoder = mtconnect.MTConnectDecoder("bxl", "vf2", None)
    s = 10**9
    first = decoder.decode_value("stream", stream(
        event(1, "Availability", "AVAILABLE"), event(2, "Execution", "READY")), 0)
    assert values(first)["state"] == "idle"
    quiet = stream()
    assert decoder.decode_value("stream", quiet, 30 * s) == []
    again = decoder.decode_value("stream", quiet, mtconnect.HEARTBEAT_S * s)
    assert [(r.signal, r.value, r.time_ns) for r in again] == [
        ("state", "idle", mtconnect.HEARTBEAT_S * s)]
    gone = decoder.decode_value("stream", stream(event(3, "Availability", "UNAVAILABLE")),
                                61 * s)
    assert values(gone) == {"state": "offline"}
    assert decoder.decode_value("stream", quiet, 200 * s) == []
