"""HomeWizard Energy P1 meters (HWE-P1) on a Belgian or Dutch digital meter's P1 port:
the local HTTP API, polled; v1 (``GET /api/v1/data``, no login) or v2 (``GET
/api/measurement`` over HTTPS with a bearer token, firmware 6 and later).

v1, as HomeWizard's API documentation and python-homewizard-energy's fixture
(tests/v1/fixtures/HWE-P1/data.json, an ISKRA meter; trimmed) show it::

    {"smr_version": 50, "meter_model": "ISKRA  2M550T-101", "active_tariff": 2,
     "total_power_import_kwh": 13779.338, "total_power_import_t1_kwh": 10830.511,
     "total_power_import_t2_kwh": 2948.827, "total_power_export_kwh": 0,
     "total_power_export_t1_kwh": 0, "total_power_export_t2_kwh": 0,
     "active_power_w": -543, "active_power_l1_w": -676, "active_power_l2_w": 133,
     "active_power_l3_w": 0, "active_current_l1_a": -4, "active_current_l2_a": 2,
     "active_current_l3_a": 0, "active_frequency_hz": 50,
     "active_power_average_w": 123.000, "montly_power_peak_w": 1111.000,
     "montly_power_peak_timestamp": 230101080010}

v2, as its fixture (tests/v2/fixtures/HWE-P1/measurement_3_phase_with_gas_with_watermeter.json;
trimmed)::

    {"protocol_version": 50, "meter_model": "ISKRA  2M550T-101",
     "timestamp": "2024-06-28T14:12:34", "tariff": 2, "energy_import_kwh": 13779.338,
     "energy_import_t1_kwh": 10830.511, "energy_import_t2_kwh": 2948.827,
     "energy_export_kwh": 0, "power_w": -543, "power_l1_w": -676, "power_l2_w": 133,
     "power_l3_w": 0, "current_a": 6, "current_l1_a": -4, "current_l2_a": 2,
     "current_l3_a": 0, "average_power_15m_w": 123.000, "monthly_power_peak_w": 1111.000,
     "monthly_power_peak_timestamp": "2024-06-04T10:11:22"}

The import and export totals (all tariffs) -> ``energy_kwh``, ``energy_export_kwh``; the
net active power (negative while the site sends power back) -> ``power_w`` when
importing, ``power_export_w`` when exporting; the phases' power, currents (their size:
the sign is the direction) and voltages -> ``power_l1_w`` ... ``voltage_l3_v``; the
running quarter's average demand (Belgian meters, 1-0:1.4.0) -> ``demand_kw``; the
month's peak (1-0:1.6.0, v1 spells it ``montly``) -> ``month_peak_kw`` and its time,
the meter's local clock in ``meter_timezone``, -> ``month_peak_at_s``. Name the machine
in ``[site] grid_meter`` (docs/metrics.md, site energy).
"""

from __future__ import annotations

import ssl
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from contract.addresses import HttpAddress
from contract.reading import Reading
from contract.secrets import read_secret
from gateways.decoding import DecodeError
from gateways.profiles.base import (
    DecoderBase,
    HttpSourceBase,
    Profile,
    as_number,
    json_document,
)

if TYPE_CHECKING:
    from contract.counters import Counters
    from gateways.gateway import Gateway, ValueDecoder

PATHS = {1: "/api/v1/data", 2: "/api/measurement"}
KEYS = {1: {"import": "total_power_import_kwh", "export": "total_power_export_kwh",
            "power": "active_power_w", "average": "active_power_average_w",
            "peak": "montly_power_peak_w", "peak_at": "montly_power_peak_timestamp",
            "phase": "active_{quantity}_l{phase}_{unit}", "frequency": "active_frequency_hz"},
        2: {"import": "energy_import_kwh", "export": "energy_export_kwh", "power": "power_w",
            "average": "average_power_15m_w", "peak": "monthly_power_peak_w",
            "peak_at": "monthly_power_peak_timestamp", "phase": "{quantity}_l{phase}_{unit}",
            "frequency": "frequency_hz"}}
PHASES = (("power", "w"), ("current", "a"), ("voltage", "v"))


class HomeWizardSource(HttpSourceBase):
    profile: Literal["homewizard"]
    endpoint: HttpAddress
    """The meter's address: ``http://p1meter.local`` (v1), ``https://192.0.2.40`` (v2)."""
    api: Literal[1, 2] = 1
    """1: the open local API; 2: the authenticated one (HTTPS and a token)."""
    token_env: str | None = None
    """v2: environment variable holding the token the meter gave (its button pressed)."""
    token_file: Path | None = None
    """v2: file holding the token."""
    ca_file: Path | None = None
    """v2: the certificate authority that signed the meter's certificate (HomeWizard's),
    to check it is the meter answering."""
    insecure_tls: bool = False
    """v2: accept any certificate (someone on the LAN could pose as the meter)."""
    meter_timezone: str = "Europe/Brussels"
    """The zone of the meter's own clock, for the time of its month's peak."""
    poll_interval_s: float = Field(default=2.0, gt=0)
    """How often the measurement is asked for (the meter updates every second)."""

    @model_validator(mode="after")
    def _v2_login(self) -> HomeWizardSource:
        if self.api == 2 and not (self.token_env or self.token_file):
            raise ValueError("token_env: API v2 needs the meter's token (token_env or "
                             "token_file)")
        if self.api == 2 and self.ca_file is None and not self.insecure_tls:
            raise ValueError("ca_file: API v2 is HTTPS; give the CA that signed the meter's "
                             "certificate, or insecure_tls = true to accept any")
        return self

    def secrets(self) -> list[tuple[str, str | None, Path | None]]:
        return [("token", self.token_env, self.token_file)] if self.api == 2 else []

    def session_options(self) -> dict[str, Any]:
        if self.api == 1:
            return {}
        import aiohttp

        token = read_secret(self.token_env, self.token_file)
        assert token is not None  # the model requires one
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.insecure_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        else:
            context.check_hostname = False  # the meter's certificate names its serial
        return {"headers": {"Authorization": f"Bearer {token.get_secret_value()}",
                            "X-Api-Version": "2"},
                "connector": aiohttp.TCPConnector(ssl=context)}

    def decoder(self, site: str, machine: str) -> HomeWizardDecoder:
        return HomeWizardDecoder(site, machine, self.api, ZoneInfo(self.meter_timezone))

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        from gateways.transports.http_poll import DocumentPoller, HttpGateway

        return HttpGateway(self, route, decoder, counters, DocumentPoller(
            PATHS[self.api], "measurement", "the meter refused the token; press its button "
            "and ask for a new one"))


class HomeWizardDecoder(DecoderBase):
    def __init__(self, site: str, machine: str, api: int, zone: ZoneInfo) -> None:
        super().__init__(site, machine)
        self.keys, self.zone = KEYS[api], zone

    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        if key != "measurement":
            raise DecodeError(f"{key}: expected the measurement")
        data, keys = json_document(value, key), self.keys
        if data.get(keys["import"]) is None:
            raise DecodeError(f"{keys['import']}: missing; is this a P1 meter?")
        out = [self.reading("energy_kwh", as_number(data[keys["import"]], keys["import"]),
                            time_ns)]
        for name, signal, scale in (("export", "energy_export_kwh", 1.0),
                                    ("average", "demand_kw", 0.001),
                                    ("peak", "month_peak_kw", 0.001),
                                    ("frequency", "frequency_hz", 1.0)):
            if data.get(keys[name]) is not None:
                out.append(self.reading(signal, as_number(data[keys[name]], keys[name]) * scale,
                                        time_ns))
        if data.get(keys["power"]) is not None:
            net = as_number(data[keys["power"]], keys["power"])
            out += [self.reading("power_w", max(net, 0.0), time_ns),
                    self.reading("power_export_w", max(-net, 0.0), time_ns)]
        for quantity, unit in PHASES:
            for phase in (1, 2, 3):
                field = keys["phase"].format(quantity=quantity, phase=phase, unit=unit)
                if data.get(field) is not None:
                    number = as_number(data[field], field)
                    out.append(self.reading(f"{quantity}_l{phase}_{unit}",
                                            abs(number) if quantity == "current" else number,
                                            time_ns))
        if data.get(keys["peak_at"]) is not None:
            out.append(self.reading("month_peak_at_s", self._when(data[keys["peak_at"]]),
                                    time_ns))
        return out

    def offline(self, time_ns: int) -> list[Reading]:
        return []

    def _when(self, stamp: Any) -> float:
        """v1: 230101080010 (YYMMDDhhmmss); v2: 2024-06-04T10:11:22; the meter's clock."""
        text = str(stamp)
        try:
            moment = (datetime.strptime(text, "%y%m%d%H%M%S") if text.isdigit()
                      else datetime.fromisoformat(text))
        except ValueError:
            raise DecodeError(f"{self.keys['peak_at']}: not a time: {text[:40]!r}") from None
        return moment.replace(tzinfo=moment.tzinfo or self.zone).timestamp()


PROFILE = Profile(HomeWizardSource, fuzz=(
    ("measurement", {"endpoint": "http://127.0.0.1"}),
    ("measurement", {"endpoint": "https://127.0.0.1", "api": 2, "token_env": "HW_TOKEN",
                     "insecure_tls": True})))
