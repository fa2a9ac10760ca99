"""Energy prices by time band: Brussels' dual tariff as docs/metrics.md gives it, an
interval across a band's edge, a band past midnight, and an hour no band holds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edge.pipeline.kpi.tariffs import NS, Tariff, TariffClock

ZONE = "Europe/Brussels"
WEEK = ["mon", "tue", "wed", "thu", "fri"]
DUAL = TariffClock([
    Tariff.model_validate({"name": "peak", "eur_per_kwh": 0.34, "weekdays": WEEK,
                           "start": "07:00", "end": "22:00"}),
    Tariff.model_validate({"name": "off-peak", "eur_per_kwh": 0.24})], ZONE)


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONE)).timestamp()) * NS


@pytest.mark.parametrize(("moment", "price"), [
    ("2026-11-23T07:00", 0.34),  # Monday, the peak begins
    ("2026-11-23T06:59", 0.24),
    ("2026-11-27T21:59", 0.34),  # Friday evening
    ("2026-11-27T22:00", 0.24),
    ("2026-11-28T10:00", 0.24),  # Saturday
])
def test_brussels_dual_tariff(moment: str, price: float) -> None:
    assert DUAL.price(at(moment)) == price


def test_an_interval_across_a_band_edge_is_priced_in_proportion() -> None:
    # 1 kWh spread over 21:30-22:30 on a Monday: half at peak, half off-peak
    assert DUAL.eur(1.0, at("2026-11-23T21:30"), at("2026-11-23T22:30")) == pytest.approx(
        0.5 * 0.34 + 0.5 * 0.24)


def test_a_band_past_midnight_belongs_to_the_day_it_starts() -> None:
    night = TariffClock([Tariff.model_validate({
        "name": "night", "eur_per_kwh": 0.1, "weekdays": ["fri"], "start": "22:00",
        "end": "06:00"})], ZONE)
    assert night.price(at("2026-11-28T03:00")) == 0.1  # Saturday 03:00: Friday's night
    assert night.price(at("2026-11-29T03:00")) is None  # Sunday 03:00: no band
    # energy partly in no band makes the price unknown, not a part of it
    assert night.eur(1.0, at("2026-11-28T05:00"), at("2026-11-28T07:00")) is None
