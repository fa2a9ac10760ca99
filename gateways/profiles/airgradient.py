"""AirGradient ONE and Open Air monitors: their local HTTP API (firmware 3.0.10 and
later), ``GET /measures/current``, polled. The answer, as AirGradient's documentation
shows it (airgradienthq/arduino, docs/local-server.md)::

    {"wifi": -46, "serialno": "ecda3b1eaaaf", "rco2": 447, "pm01": 3, "pm02": 7,
     "pm10": 8, "pm003Count": 442, "atmp": 25.87, "rhum": 43, "tvocIndex": 100,
     "tvoc_raw": 33051, "noxIndex": 1, "nox_raw": 16307, "boot": 6, "ledMode": "pm",
     "firmwareVersion": "3.0.10beta", "fwMode": "I-9PSL"}

``pm01``, ``pm02``, ``pm10`` (ug/m3) -> ``pm1_ugm3``, ``pm2_5_ugm3``, ``pm10_ugm3``;
``pm003Count`` (per 100 ml) -> ``particles_03_per_dl``; ``tvocIndex``, ``noxIndex`` ->
``voc_index``, ``nox_index``; ``rco2`` -> ``co2_ppm``; ``atmp``, ``rhum`` ->
``temperature_c``, ``humidity_pct``. A value the monitor does not have (no sensor for
it, or not warmed up) is absent and skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from contract.addresses import HttpAddress
from contract.reading import Reading
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

KEYS = {"pm01": "pm1_ugm3", "pm02": "pm2_5_ugm3", "pm10": "pm10_ugm3",
        "pm003Count": "particles_03_per_dl", "tvocIndex": "voc_index", "noxIndex": "nox_index",
        "rco2": "co2_ppm", "atmp": "temperature_c", "rhum": "humidity_pct"}


class AirGradientSource(HttpSourceBase):
    profile: Literal["airgradient"]
    endpoint: HttpAddress
    """The monitor, e.g. ``http://airgradient_ecda3b1eaaaf.local``."""
    poll_interval_s: float = Field(default=10.0, gt=0)
    """How often the current values are asked for (the monitor measures every few s)."""

    def decoder(self, site: str, machine: str) -> AirGradientDecoder:
        return AirGradientDecoder(site, machine)

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        from gateways.transports.http_poll import DocumentPoller, HttpGateway

        return HttpGateway(self, route, decoder, counters, DocumentPoller(
            "/measures/current", "current", "the monitor answers without a login; check "
            "the endpoint"))


class AirGradientDecoder(DecoderBase):
    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        if key != "current":
            raise DecodeError(f"{key}: expected the current measures")
        document = json_document(value, key)
        return [self.reading(signal, as_number(document[name], name), time_ns)
                for name, signal in KEYS.items() if document.get(name) is not None]

    def offline(self, time_ns: int) -> list[Reading]:
        return [self.reading("state", "offline", time_ns)]


PROFILE = Profile(AirGradientSource, fuzz=(("current", {"endpoint": "http://127.0.0.1"}),))
