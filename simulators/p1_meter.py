"""A simulated HomeWizard P1 meter at a workshop's grid connection: API v1
(``/api/v1/data``, open) and v2 (``/api/measurement`` over HTTPS, the bearer token
checked, 401 without it), in the shapes of the captures in docs/profiles/homewizard.md.

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
    """The site's net power and the meter's counters."""

    def __init__(self, load_w: Callable[[], float], solar_w: Callable[[], float]) -> None:
        self.load_w, self.solar_w = load_w, solar_w
        self.import_kwh, self.export_kwh, self.net_w = 10_000.0, 2_000.0, 0.0
        self._quarter = (0, 0.0)
        """The running quarter's start (unix s) and its net kWh so far."""
        self.peak_w, self.peak_at = 0.0, 0.0

    def step(self, dt_s: float, now_s: float | None = None) -> None:
        now = now_s if now_s is not None else time.time()
        self.net_w = self.load_w() - self.solar_w()
        kwh = self.net_w * dt_s / 3_600_000
        if kwh >= 0:
            self.import_kwh += kwh
        else:
            self.export_kwh -= kwh
        start = int(now // QUARTER_S * QUARTER_S)
        if start != self._quarter[0]:
            self._quarter = (start, 0.0)
        self._quarter = (start, self._quarter[1] + kwh)
        if self.average_w(now) > self.peak_w:
            self.peak_w, self.peak_at = self.average_w(now), now

    def average_w(self, now_s: float) -> float:
        """The quarter's average so far, as the meter's 1-0:1.4.0 shows it."""
        elapsed = max(now_s - self._quarter[0], 1.0)
        return self._quarter[1] * 3_600_000 / elapsed


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
        return web.json_response({
            "smr_version": 50, "meter_model": "simulated", "active_tariff": 1,
            "total_power_import_kwh": round(g.import_kwh, 3),
            "total_power_export_kwh": round(g.export_kwh, 3),
            "active_power_w": round(g.net_w), "active_power_average_w": round(
                g.average_w(now), 3),
            "montly_power_peak_w": round(g.peak_w, 3),
            "montly_power_peak_timestamp": int(_local(g.peak_at).strftime("%y%m%d%H%M%S"))})

    async def _v2(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "user:unauthorized"}, status=401)
        g, now = self.grid, time.time()
        return web.json_response({
            "protocol_version": 50, "energy_import_kwh": round(g.import_kwh, 3),
            "energy_export_kwh": round(g.export_kwh, 3), "power_w": round(g.net_w),
            "average_power_15m_w": round(g.average_w(now), 3),
            "monthly_power_peak_w": round(g.peak_w, 3),
            "monthly_power_peak_timestamp": _local(g.peak_at).strftime("%Y-%m-%dT%H:%M:%S")})


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
