"""DSMR telegrams from a Belgian (Fluvius, Sibelga, ORES) or Dutch digital meter's P1
port, published whole over MQTT: dsmr-reader's raw-telegram option, ESPHome's DSMR
``telegram`` text sensor and the P1 bridges that forward the port as it reads. Parsed
with dsmr_parser, which checks each telegram's CRC.

A Fluvius telegram, as dsmr_parser's test suite holds it (test/example_telegrams.py,
``TELEGRAM_FLUVIUS_V171_ALT``; the gas and water lines left out here)::

    /FLU5\\253769484_A

    0-0:96.1.4(50217)
    0-0:96.1.1(3153414733313030373231333236)
    0-0:1.0.0(231102121548W)
    1-0:1.8.1(000301.548*kWh)
    1-0:1.8.2(000270.014*kWh)
    1-0:2.8.1(000000.005*kWh)
    1-0:2.8.2(000000.000*kWh)
    0-0:96.14.0(0001)
    1-0:1.4.0(00.052*kW)
    1-0:1.6.0(231102114500W)(03.064*kW)
    1-0:1.7.0(00.338*kW)
    1-0:2.7.0(00.000*kW)
    1-0:32.7.0(232.9*V)
    1-0:31.7.0(000.27*A)

The telegram's time (``0-0:1.0.0``, S or W for summer or winter time, so the hour the
clocks go back is told apart) dates the readings. ``1-0:1.8.1`` + ``1.8.2`` (the two
tariffs) -> ``energy_kwh``; ``2.8.1`` + ``2.8.2`` -> ``energy_export_kwh``; ``1.7.0`` and
``2.7.0`` (kW) -> ``power_w`` and ``power_export_w``; ``1.4.0``, the running quarter's
average demand -> ``demand_kw``; ``1.6.0``, the month's peak and its time ->
``month_peak_kw`` and ``month_peak_at_s``; ``0-0:98.1.0``, the last 13 months' peaks ->
``peak_history`` (JSON, month -> kW: the rolling average starts from them); ``32.7.0``
... and ``31.7.0`` ... ->
``voltage_l1_v`` ... ``current_l3_a``. Name the machine in ``[site] grid_meter``
(docs/metrics.md, site energy).
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

import orjson

from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import DecoderBase, MqttSourceBase, Profile

BRUSSELS = ZoneInfo("Europe/Brussels")
"""The meters' clock (Belgium's e-MUCS telegrams carry the month's peaks)."""
SPECIFICATIONS = {"belgium": "BELGIUM_FLUVIUS", "v5": "V5", "v4": "V4"}
SUMS = {"energy_kwh": ("ELECTRICITY_USED_TARIFF_1", "ELECTRICITY_USED_TARIFF_2"),
        "energy_export_kwh": ("ELECTRICITY_DELIVERED_TARIFF_1",
                              "ELECTRICITY_DELIVERED_TARIFF_2")}
VALUES = {"CURRENT_ELECTRICITY_USAGE": ("power_w", 1000.0),
          "CURRENT_ELECTRICITY_DELIVERY": ("power_export_w", 1000.0),
          "BELGIUM_CURRENT_AVERAGE_DEMAND": ("demand_kw", 1.0),
          "BELGIUM_MAXIMUM_DEMAND_MONTH": ("month_peak_kw", 1.0),
          **{f"INSTANTANEOUS_{quantity.upper()}_L{phase}": (f"{quantity}_l{phase}_{unit}", 1.0)
             for phase in (1, 2, 3) for quantity, unit in (("voltage", "v"), ("current", "a"))}}


class DsmrSource(MqttSourceBase):
    profile: Literal["dsmr"]
    specification: Literal["belgium", "v5", "v4"] = "belgium"
    """Which telegrams: belgium (e-MUCS, with the quarter's demand and the month's peak),
    v5 (the Netherlands' DSMR 5) or v4."""

    def decoder(self, site: str, machine: str) -> DsmrDecoder:
        return DsmrDecoder(site, machine, self.specification, self.meter)


class DsmrDecoder(DecoderBase):
    def __init__(self, site: str, machine: str, specification: str,
                 meter: str | None = None) -> None:
        super().__init__(site, machine, meter)
        from dsmr_parser import telegram_specifications
        from dsmr_parser.parsers import TelegramParser

        self.parser = TelegramParser(getattr(telegram_specifications,
                                             SPECIFICATIONS[specification]))
        self.history = ""
        """The last peak history sent: it changes once a month, telegrams come each second."""

    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        from dsmr_parser.exceptions import InvalidChecksumError, ParseError

        text = payload.decode(errors="replace").strip()
        if not text.startswith("/") or "!" not in text:
            raise DecodeError("expected a whole DSMR telegram, from '/' to '!' and its CRC")
        try:
            telegram = self.parser.parse(text.replace("\r\n", "\n").replace("\n", "\r\n")
                                         + "\r\n", throw_ex=True)
        except InvalidChecksumError as exc:
            raise DecodeError(f"CRC: {exc}") from None
        except (ParseError, ValueError) as exc:
            raise DecodeError(f"not a telegram: {str(exc)[:80]}") from None
        found = {name: value for name, value in telegram if value is not None}
        stamp = found.get("P1_MESSAGE_TIMESTAMP")
        time_ns = int(stamp.value.timestamp() * 1e9) if stamp is not None else received_ns
        out = []
        for signal, names in SUMS.items():
            if all(name in found for name in names):
                out.append(self.reading(signal, sum(float(found[n].value) for n in names),
                                        time_ns))
        for name, (signal, scale) in VALUES.items():
            if name in found and found[name].value is not None:
                out.append(self.reading(signal, float(found[name].value) * scale, time_ns))
        peak = found.get("BELGIUM_MAXIMUM_DEMAND_MONTH")
        if peak is not None and getattr(peak, "datetime", None) is not None:
            out.append(self.reading("month_peak_at_s", peak.datetime.timestamp(), time_ns))
        history = orjson.dumps(_history(found.get("BELGIUM_MAXIMUM_DEMAND_13_MONTHS"))).decode()
        if history not in ("{}", self.history):
            self.history = history
            out.append(self.reading("peak_history", history, time_ns))
        return out


def _history(entries: object) -> dict[str, float]:
    """0-0:98.1.0: each month's peak, stamped at the month's end (its next month's
    start); a month without one (no time it occurred) is left out."""
    months: dict[str, float] = {}
    for entry in entries if isinstance(entries, list) else []:
        if getattr(entry, "occurred", None) is not None:
            months[entry.occurred.astimezone(BRUSSELS).strftime("%Y-%m")] = float(entry.value)
    return months


PROFILE = Profile(DsmrSource, fuzz=(("dsmr/raw", {"topic": "dsmr/raw"}),))
