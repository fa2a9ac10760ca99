"""The HomeWizard P1 meter without a network: the captures of its API v1 and v2 from
python-homewizard-energy's fixtures (tests/profiles/fixtures/README.md), decoded to the
figures they hold, and what a wrong answer says."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from gateways.decoding import DecodeError
from gateways.profiles import Source
from gateways.profiles.homewizard import HomeWizardDecoder
from tests.profiles.helpers import values

FIXTURES = Path(__file__).parent / "fixtures"
BRUSSELS = ZoneInfo("Europe/Brussels")


def decoded(api: int, name: str) -> dict[str, float | str]:
    decoder = HomeWizardDecoder("bxl", "main", api, BRUSSELS)
    return values(decoder.decode_value("measurement", (FIXTURES / name).read_text(), 1))


@pytest.mark.parametrize(("api", "name", "peak_at"), [
    (1, "homewizard_v1_data.json", datetime(2023, 1, 1, 8, 0, 10, tzinfo=BRUSSELS)),
    (2, "homewizard_v2_measurement.json", datetime(2024, 6, 4, 10, 11, 22, tzinfo=BRUSSELS))])
def test_the_captured_meter_gives_its_totals_demand_and_peak(api: int, name: str,
                                                             peak_at: datetime) -> None:
    found = decoded(api, name)
    assert found["energy_kwh"] == pytest.approx(13779.338)
    assert found["energy_export_kwh"] == 0.0
    # -543 W net: the site sends 543 W back
    assert found["power_w"] == 0.0 and found["power_export_w"] == pytest.approx(543.0)
    assert found["power_l1_w"] == pytest.approx(-676.0)
    assert found["current_l1_a"] == pytest.approx(4.0)  # its size; the sign is direction
    assert found["demand_kw"] == pytest.approx(0.123)
    assert found["month_peak_kw"] == pytest.approx(1.111)
    assert found["month_peak_at_s"] == peak_at.timestamp()


def test_a_document_without_the_import_total_is_refused() -> None:
    decoder = HomeWizardDecoder("bxl", "main", 1, BRUSSELS)
    with pytest.raises(DecodeError, match="total_power_import_kwh: missing"):
        decoder.decode_value("measurement", '{"active_power_w": 12}', 1)
    with pytest.raises(DecodeError, match="not a time"):
        decoder.decode_value("measurement", '{"total_power_import_kwh": 1, '
                             '"montly_power_peak_timestamp": "soon"}', 1)


def test_api_v2_needs_a_token_and_a_way_to_trust_the_meter() -> None:
    adapter: TypeAdapter[Source] = TypeAdapter(Source)
    base = {"profile": "homewizard", "endpoint": "https://192.0.2.40", "api": 2}
    with pytest.raises(ValidationError, match="token_env"):
        adapter.validate_python(base)
    with pytest.raises(ValidationError, match="ca_file"):
        adapter.validate_python({**base, "token_env": "HW_TOKEN"})
    adapter.validate_python({**base, "token_env": "HW_TOKEN", "insecure_tls": True})
