"""A simulated digital meter at a workshop's grid connection, read on its P1 port: as a
HomeWizard P1 meter (API v1, ``/api/v1/data``, open; v2, ``/api/measurement`` over HTTPS
with the bearer token checked, 401 without it) in the shapes of the captures in
docs/profiles/homewizard.md, or as Fluvius telegrams with their CRC published to MQTT
(docs/profiles/dsmr.md), as dsmr-reader and ESPHome publish them.

The site draws what the machines' meters draw plus a base load, less what the roof's
solar gives; the net power is signed, as the meter's is, and the import and export
totals count each side. The running quarter's average and the month's peak are kept as
a Belgian meter keeps them (fixed clock quarters).
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from simulators.http_device import HttpDevice
from simulators.mqtt_publisher import Message

QUARTER_S = 900
BRUSSELS = ZoneInfo("Europe/Brussels")


class GridConnection:
    """The site's net power and the meter's counters, its running quarter and peak."""

    def __init__(self, load_w: Callable[[], float], solar_w: Callable[[], float]) -> None:
        self.load_w, self.solar_w = load_w, solar_w
        self.import_kwh, self.export_kwh, self.net_w = 10_000.0, 2_000.0, 0.0
        self._quarter = (0, 0.0)
        """The running quarter's start (unix s) and the net kWh at its start."""
        self.peak_w, self.peak_at = 0.0, 0.0

    def step(self, dt_s: float) -> None:
        self.net_w = self.load_w() - self.solar_w()
        kwh = self.net_w * dt_s / 3_600_000
        if kwh >= 0:
            self.import_kwh += kwh
        else:
            self.export_kwh -= kwh

    def average_w(self, now_s: float) -> float:
        """The running quarter's average so far, as the meter's 1-0:1.4.0 shows it; a
        quarter that ended may set the month's peak (1-0:1.6.0)."""
        start = int(now_s // QUARTER_S * QUARTER_S)
        net = self.import_kwh - self.export_kwh
        if start != self._quarter[0]:
            ended, at_start = self._quarter
            if ended and start - ended == QUARTER_S:  # a whole quarter seen
                average = (net - at_start) * 3_600_000 / QUARTER_S
                if average > self.peak_w:
                    self.peak_w, self.peak_at = average, float(start)
            self._quarter = (start, net)
        return (net - self._quarter[1]) * 3_600_000 / max(now_s - start, 1.0)


class HomeWizardP1(HttpDevice):
    profile = "homewizard"

    def __init__(self, grid: GridConnection, port: int, token: str | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        super().__init__(port, tls)
        self.grid, self.token = grid, token

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def source(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "profile": "homewizard", "poll_interval_s": 1.0}

    def messages(self, now_s: float) -> list[Message]:
        return []

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/data", self._v1)
        app.router.add_get("/api/measurement", self._v2)

    async def _v1(self, request: web.Request) -> web.Response:
        g, now = self.grid, time.time()
        average = g.average_w(now)
        return web.json_response({
            "smr_version": 50, "meter_model": "simulated", "active_tariff": 1,
            "total_power_import_kwh": round(g.import_kwh, 3),
            "total_power_export_kwh": round(g.export_kwh, 3),
            "active_power_w": round(g.net_w), "active_power_average_w": round(average, 3),
            "montly_power_peak_w": round(g.peak_w, 3),
            "montly_power_peak_timestamp": int(_local(g.peak_at).strftime("%y%m%d%H%M%S"))})

    async def _v2(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "user:unauthorized"}, status=401)
        g, now = self.grid, time.time()
        average = g.average_w(now)
        return web.json_response({
            "protocol_version": 50, "energy_import_kwh": round(g.import_kwh, 3),
            "energy_export_kwh": round(g.export_kwh, 3), "power_w": round(g.net_w),
            "average_power_15m_w": round(average, 3),
            "monthly_power_peak_w": round(g.peak_w, 3),
            "monthly_power_peak_timestamp": _local(g.peak_at).strftime("%Y-%m-%dT%H:%M:%S")})


class DsmrP1:
    """The meter's telegram every ``every_s``, published whole to ``topic``."""

    profile = "dsmr"

    def __init__(self, grid: GridConnection, topic: str, every_s: float = 10.0) -> None:
        self.grid, self.topic, self.every_s = grid, topic, every_s
        self._next = 0.0

    def source(self) -> dict[str, Any]:
        return {"topic": self.topic, "profile": "dsmr"}

    def messages(self, now_s: float) -> list[Message]:
        if now_s < self._next:
            return []
        self._next = now_s + self.every_s
        return [(self.topic, telegram(self.grid, now_s), False)]


def telegram(grid: GridConnection, now_s: float) -> bytes:
    """A Fluvius telegram (e-MUCS) of the meter's state, with its CRC."""
    average = grid.average_w(now_s) / 1000
    lines = ["/FLU5\\253769484_A", "", "0-0:96.1.4(50217)",
             f"0-0:1.0.0({_stamp(now_s)})",
             f"1-0:1.8.1({grid.import_kwh:010.3f}*kWh)", "1-0:1.8.2(000000.000*kWh)",
             f"1-0:2.8.1({grid.export_kwh:010.3f}*kWh)", "1-0:2.8.2(000000.000*kWh)",
             "0-0:96.14.0(0001)", f"1-0:1.4.0({max(average, 0.0):06.3f}*kW)",
             f"1-0:1.6.0({_stamp(grid.peak_at or now_s)})({grid.peak_w / 1000:06.3f}*kW)",
             f"1-0:1.7.0({max(grid.net_w, 0.0) / 1000:06.3f}*kW)",
             f"1-0:2.7.0({max(-grid.net_w, 0.0) / 1000:06.3f}*kW)", "!"]
    body = "\r\n".join(lines).encode()
    return body + f"{_crc16(body):04X}\r\n".encode()


def _stamp(unix_s: float) -> str:
    """YYMMDDhhmmss and S (summer) or W (winter): the meter's local clock."""
    local = dt.datetime.fromtimestamp(unix_s, BRUSSELS)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")


def _crc16(data: bytes) -> int:
    """CRC-16/ARC, as DSMR 5 computes it over the telegram from '/' to '!'."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _local(unix_s: float) -> dt.datetime:
    """The meter's clock: Belgian local time, without a zone."""
    return dt.datetime.fromtimestamp(unix_s, BRUSSELS).replace(tzinfo=None)


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS context with a fresh self-signed certificate, as the meter has its own; and
    the certificate's file, for the edge to trust (``ca_file``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "appliance/p1dongle/simulated")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "p1.pem", folder / "p1.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
