"""Clock quarters in any time zone: a quarter starts on :00, :15, :30 or :45 of the
local clock, holds its instant, lasts 900 s, and the repeated hour of an autumn night
has eight of them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from edge.pipeline.kpi.quarters import NS, QUARTER_NS, local_iso, month_of, quarter_start

ZONES = ["Europe/Brussels", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns",
         "UTC"]


@given(st.integers(1_700_000_000, 1_900_000_000), st.sampled_from(ZONES))
def test_a_quarter_starts_on_the_local_clocks_quarter_and_holds_its_instant(
        t_s: int, zone_name: str) -> None:
    zone, t = ZoneInfo(zone_name), t_s * NS + 123
    start = quarter_start(t, zone)
    assert start <= t < start + QUARTER_NS
    local = datetime.fromtimestamp(start // NS, zone)
    assert local.minute % 15 == 0 and local.second == 0


def test_the_repeated_hour_has_eight_quarters_and_the_skipped_one_none() -> None:
    brussels = ZoneInfo("Europe/Brussels")
    autumn = int(datetime(2026, 10, 25, 0, 0, tzinfo=UTC).timestamp()) * NS  # 02:00 CEST
    starts = sorted({quarter_start(autumn + m * 60 * NS, brussels) for m in range(120)})
    assert [local_iso(s, brussels)[11:] for s in starts] == [
        f"02:{m:02d}:00+0{h}:00" for h in (2, 1) for m in (0, 15, 30, 45)]
    spring = int(datetime(2026, 3, 29, 0, 45, tzinfo=UTC).timestamp()) * NS  # 01:45 CET
    after = quarter_start(spring + QUARTER_NS, brussels)
    assert local_iso(after, brussels)[11:] == "03:00:00+02:00"
    assert month_of(int(datetime(2026, 10, 31, 23, 0, tzinfo=UTC).timestamp()) * NS,
                    brussels) == "2026-11"
