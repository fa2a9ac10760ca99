"""A simulated Prusa printer answering PrusaLink's HTTP API v1 (``/api/v1/status``,
``/api/v1/job``) as the OpenAPI specification shapes it, with the API key checked
(401 without it), or HTTP digest authentication (RFC 7616, MD5, qop=auth, as the
printer's firmware does) when a ``password`` is given, so the edge polls it through a
real HTTP stack. ``broken`` makes it answer malformed JSON, as a half-written response
would be.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aiohttp import web

from simulators.http_device import HttpDevice
from simulators.mqtt_publisher import Message
from simulators.printer import SimulatedPrinter

PRUSALINK_KEY_ENV = "CIRCLEMADE_PRUSALINK_KEY"
"""Where the simulated printers' API key is (the edge's config names the same)."""
DEMO_KEY = "simulated-prusalink-key"
"""Their key when that variable is not set."""
REALM, NONCE = "Printer API", "d1b4f6a3c2e5"
AFTER = {"good": "FINISHED", "cancelled": "STOPPED", "failed": "ERROR"}
"""What the printer shows from a job's end until it is idle again."""


class PrusaLinkPrinter(HttpDevice):
    """One printer, on 127.0.0.1:``port``; a fleet device (its source entry) too."""

    profile = "prusalink"

    def __init__(self, printer: SimulatedPrinter, port: int, api_key: str,
                 key_env: str = PRUSALINK_KEY_ENV) -> None:
        super().__init__(port)
        self.printer, self.api_key, self.key_env = printer, api_key, key_env
        self.password: str | None = None
        """When set, digest authentication (user ``maker``) instead of the key."""
        self.broken = False
        self._job_id = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def source(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "profile": "prusalink", "api_key_env": self.key_env,
                "poll_interval_s": 1.0}

    def messages(self, now_s: float) -> list[Message]:
        return []

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/status", self._status)
        app.router.add_get("/api/v1/job", self._job)

    def _state(self) -> str:
        p = self.printer
        if p.state in ("heating", "printing"):
            return "PRINTING"
        if p.state == "cooling":
            return AFTER.get(p.last_outcome, "FINISHED")
        return "IDLE"

    def _refused(self, request: web.Request) -> web.Response | None:
        allowed = (self._digest_ok(request) if self.password is not None
                   else request.headers.get("X-Api-Key") == self.api_key)
        if not allowed:
            headers = {"WWW-Authenticate": f'Digest realm="{REALM}", nonce="{NONCE}", '
                                          'qop="auth", algorithm=MD5'} if self.password else {}
            return web.json_response({"title": "Unauthorized"}, status=401, headers=headers)
        if self.broken:
            return web.Response(text='{"printer": {"state": "PRINT',
                                content_type="application/json")
        return None

    def _digest_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Digest "):
            return False
        said = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        ha1 = _md5(f"{said.get('username')}:{REALM}:{self.password}")
        ha2 = _md5(f"{request.method}:{said.get('uri')}")
        expected = _md5(f"{ha1}:{NONCE}:{said.get('nc')}:{said.get('cnonce')}:auth:{ha2}")
        return said.get("username") == "maker" and said.get("response") == expected

    def _job_number(self) -> int:
        self._job_id = max(self._job_id, self.printer.jobs_done + 1)
        return self._job_id if self.printer.state != "cooling" else self.printer.jobs_done

    async def _status(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        p = self.printer
        document: dict[str, Any] = {"printer": {
            "state": self._state(), "temp_nozzle": round(p.nozzle_c, 1),
            "target_nozzle": 215.0 if p.heating else 0.0, "temp_bed": round(p.bed_c, 1),
            "target_bed": 60.0 if p.heating else 0.0, "axis_z": round(p.layer * 0.2, 1),
            "flow": 100, "speed": 100}}
        if p.state in ("heating", "printing"):
            document["job"] = {"id": self._job_number(), "progress": round(p.progress, 1),
                               "time_remaining": int(p.remaining_s), "time_printing": 0}
        return web.json_response(document)

    async def _job(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        p = self.printer
        if p.state not in ("heating", "printing"):
            return web.Response(status=204)
        name = p.job.removesuffix(".gcode")
        return web.json_response({
            "id": self._job_number(), "state": "PRINTING", "progress": round(p.progress, 1),
            "time_remaining": int(p.remaining_s), "time_printing": 0,
            "file": {"name": name[:6].upper() + "~1.BGC", "display_name": f"{name}.bgcode",
                     "path": "/usb", "size": 2393142, "m_timestamp": 1764676800,
                     "meta": {"filament used [mm]": p.job_filament_mm,
                              "filament used [g]": round(p.job_filament_mm * 0.00298, 2),
                              "filament_type": "PLA"}}})


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # digest auth's MD5, not for security here
