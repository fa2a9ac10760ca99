"""DSMR telegrams without a network: two Fluvius telegrams from dsmr_parser's test suite
(tests/profiles/fixtures/README.md), decoded to the figures they hold; a telegram with
a changed digit fails its CRC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateways.decoding import DecodeError
from tests.profiles.helpers import decoder_for, values

FIXTURES = Path(__file__).parent / "fixtures"


def decoded(name: str, text: bytes | None = None) -> tuple[int, dict[str, float | str]]:
    readings = decoder_for({"profile": "dsmr", "topic": "dsmr/raw"}).decode(
        "dsmr/raw", text or (FIXTURES / name).read_bytes(), 1)
    return readings[0].time_ns, values(readings)


def test_a_fluvius_telegram_gives_totals_demand_and_the_months_peak() -> None:
    at, found = decoded("fluvius_v171_alt.txt")
    # 0-0:1.0.0(231102121548W): winter time, UTC+1
    assert at == int(datetime(2023, 11, 2, 11, 15, 48, tzinfo=UTC).timestamp()) * 10**9
    assert found["energy_kwh"] == pytest.approx(301.548 + 270.014)
    assert found["energy_export_kwh"] == pytest.approx(0.005)
    assert found["power_w"] == pytest.approx(338.0) and found["power_export_w"] == 0.0
    assert found["demand_kw"] == pytest.approx(0.052)
    assert found["month_peak_kw"] == pytest.approx(3.064)
    # 1-0:1.6.0(231102114500W)
    assert found["month_peak_at_s"] == datetime(2023, 11, 2, 10, 45, tzinfo=UTC).timestamp()
    assert found["current_l2_a"] == pytest.approx(0.88)
    # 0-0:98.1.0: July had none; August's, September's and October's peaks
    assert found["peak_history"] == '{"2023-08":1.862,"2023-09":4.229,"2023-10":4.927}'


def test_the_peak_history_is_sent_when_it_changes() -> None:
    decoder = decoder_for({"profile": "dsmr", "topic": "dsmr/raw"})
    telegram = (FIXTURES / "fluvius_v171_alt.txt").read_bytes()
    signals = [[r.signal for r in decoder.decode("dsmr/raw", telegram, 1)] for _ in range(2)]
    assert "peak_history" in signals[0] and "peak_history" not in signals[1]


def test_summer_time_is_read_as_summer_time() -> None:
    at, found = decoded("fluvius_v171.txt")
    # 0-0:1.0.0(200512135409S): UTC+2
    assert at == int(datetime(2020, 5, 12, 11, 54, 9, tzinfo=UTC).timestamp()) * 10**9
    assert found["demand_kw"] == pytest.approx(2.351)
    assert found["month_peak_kw"] == pytest.approx(2.589)


def test_lf_only_line_ends_still_read_and_a_changed_digit_fails_the_crc() -> None:
    text = (FIXTURES / "fluvius_v171_alt.txt").read_bytes()
    assert decoded("", text.replace(b"\r\n", b"\n"))[1]["energy_kwh"] == pytest.approx(571.562)
    with pytest.raises(DecodeError, match="CRC"):
        decoded("", text.replace(b"000301.548", b"000301.549"))
    with pytest.raises(DecodeError, match="whole DSMR telegram"):
        decoded("", b'{"electricity_currently_delivered": 0.3}')
