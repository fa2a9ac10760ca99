"""The terminal: a page on the workshop's tablet where people give a verdict on a job,
the reason for a stop, and the lot they loaded. Served by the service itself (aiohttp on
its event loop), plain HTML, one PIN for the workshop and no accounts.

It never writes a KPI: every action is published to the operator MQTT contract
(gateways/operator_input.py), which the edge reads like any other source, so what is
said on the page is recorded and replayed like everything else. What it shows comes
from the KPI stage's memory.

The PIN (from the environment or a file) is checked on every request: the session cookie
is an HMAC of it under a key made at start, so it cannot be forged, ends with a restart
and never contains the PIN. Forms carry a CSRF token; requests are capped at 16 KiB;
failed PINs are limited per client; every URL is relative, so the page works behind a
reverse proxy under any path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from contract.eventlog import log_event
from edge.config import Config
from edge.kpi.engine import KpiEngine, MachineKpi
from edge.terminal.text import TEXT, reason_label
from gateways.operator_input import OperatorDecoder
from gateways.profiles.base import DecodeError

COOKIE = "circlemade_terminal"
MAX_REQUEST_BYTES = 16 * 1024
FAILURES_PER_MINUTE = 5
RECENT_LOTS = 6
Publish = Callable[[str, bytes], bool]


class TerminalUnavailable(Exception):
    """The page cannot be served (its address is taken or not this machine's): a start
    error naming ``[terminal] listen``."""


class Terminal:
    def __init__(self, config: Config, pin: str, engine: Callable[[], KpiEngine | None],
                 decoder: OperatorDecoder, publish: Publish) -> None:
        self.config, self.engine, self.decoder, self.publish = config, engine, decoder, publish
        self._key = secrets.token_bytes(32)
        self._session = self._mac(b"session|" + pin.encode())
        self._csrf = self._mac(b"csrf|" + self._session.encode())
        self._pin = pin
        self._failures: dict[str, list[float]] = {}
        self._said: dict[str, dict[str, Any]] = {}
        self.recent_lots: list[dict[str, str]] = []
        self._zone = ZoneInfo(config.site.timezone)
        self._pages = Environment(loader=PackageLoader("edge.terminal"),
                                  autoescape=select_autoescape(), auto_reload=False)
        self._runner: web.AppRunner | None = None

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    # -- serving ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES,
                              middlewares=[self._guard])
        app.add_routes([web.get("/", self.machines), web.post("/login", self.login),
                        web.post("/logout", self.logout), web.get("/m/{machine}", self.machine),
                        web.post("/m/{machine}/{kind}", self.say)])
        return app

    async def start(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, int(port)).start()
        except OSError as exc:
            await self._runner.cleanup()
            raise TerminalUnavailable(f"[terminal] listen = {listen!r}: {exc.strerror}") from None
        log_event("terminal.listening", url=f"http://{listen}/")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.path != "/login":
            form = await request.post()
            if not hmac.compare_digest(str(form.get("csrf", "")), self._csrf):
                raise web.HTTPForbidden(text="stale or missing form token: reload the page")
        if request.path == "/login" or self._signed_in(request):
            response: web.StreamResponse = await handler(request)
        elif request.path == "/":
            response = self._page("login.html", wrong=False)
        else:
            raise web.HTTPSeeOther(_root(request.path))
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _signed_in(self, request: web.Request) -> bool:
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), self._session)

    # -- pages ------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.StreamResponse:
        client = request.remote or "?"
        now = time.monotonic()
        failures = [t for t in self._failures.get(client, []) if now - t < 60]
        if len(failures) >= FAILURES_PER_MINUTE:
            raise web.HTTPTooManyRequests(text="too many wrong PINs: wait a minute")
        form = await request.post()
        if not hmac.compare_digest(str(form.get("pin", "")).encode(), self._pin.encode()):
            self._failures[client] = [*failures, now]
            log_event("terminal.wrong_pin", client=client)
            return self._page("login.html", wrong=True, status=401)
        self._failures.pop(client, None)
        signed_in = web.HTTPSeeOther("./")
        signed_in.set_cookie(COOKIE, self._session, httponly=True, samesite="Strict")
        raise signed_in

    async def logout(self, request: web.Request) -> web.StreamResponse:
        signed_out = web.HTTPSeeOther("./")
        signed_out.del_cookie(COOKIE)
        raise signed_out

    async def machines(self, request: web.Request) -> web.StreamResponse:
        return self._page("machines.html", machines=[
            self._view(kpi) for kpi in self._kpis().values()])

    async def machine(self, request: web.Request) -> web.StreamResponse:
        kpi = self._kpis().get(request.match_info["machine"])
        if kpi is None:
            raise web.HTTPNotFound(text="no such machine")
        operator = self.config.operator
        return self._page("machine.html", m=self._view(kpi),
                          said=self._said.pop(kpi.machine.id, None),
                          scrap_reasons=operator.scrap_reasons,
                          planned=operator.planned_stops, unplanned=operator.unplanned_stops,
                          recent_lots=self.recent_lots)

    async def say(self, request: web.Request) -> web.StreamResponse:
        """Publish what was said to the operator topic; the edge applies it from there."""
        machine, kind = request.match_info["machine"], request.match_info["kind"]
        form = await request.post()
        payload = _payload(kind, {key: str(value) for key, value in form.items()
                                  if key != "csrf" and str(value) != ""})
        topic = f"{self.config.operator.prefix}/{self.config.site.id}/{machine}/{kind}"
        body = orjson.dumps(payload)
        try:
            self.decoder.decode(topic, body, time.time_ns())  # what the edge would refuse
        except DecodeError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        sent = self.publish(topic, body)
        self._said[machine] = {"sent": sent, "text": ", ".join(
            f"{key} {value}" for key, value in payload.items() if key != "by")}
        if sent and payload.get("action") == "load":
            lot = {key: str(payload[key]) for key in ("lot", "material", "recycled_pct")}
            self.recent_lots = [lot, *[x for x in self.recent_lots
                                       if x["lot"] != lot["lot"]]][:RECENT_LOTS]
        log_event("terminal.said", machine=machine, kind=kind, sent=sent)
        raise web.HTTPSeeOther(f"../{machine}")

    def _kpis(self) -> dict[str, MachineKpi]:
        engine = self.engine()
        return {} if engine is None else engine.machines

    def _page(self, name: str, status: int = 200, **values: Any) -> web.Response:
        language = self.config.site.language
        html = self._pages.get_template(name).render(
            t=TEXT[language], lang=language, site=self.config.site.id,
            label=lambda reason: reason_label(language, reason),
            site_name=self.config.site.name or self.config.site.id, csrf=self._csrf,
            **values)
        return web.Response(text=html, content_type="text/html", status=status)

    def _view(self, kpi: MachineKpi) -> dict[str, Any]:
        m = kpi.m
        last = m.ended[-1] if m.ended else None
        return {
            "id": kpi.machine.id, "name": kpi.machine.name or kpi.machine.id,
            "state": m.state, "since": self._clock(m.state_ns),
            "job": m.job.name if m.job is not None else "",
            "last_job": last.name if last is not None else "",
            "last_good": int(last.good) if last is not None else 0,
            "last_scrap": int(last.scrap) if last is not None else 0,
            "last_parts": f"{last.good:g} / {last.scrap:g}" if last is not None else "",
            "stop": self._clock(m.stop.start_ns) if m.stop is not None else "",
            "stop_reason": m.stop.reason if m.stop is not None else "",
            "lot": m.lot.lot if m.lot is not None else "",
            "material": m.lot.material if m.lot is not None else kpi.machine.material,
        }

    def _clock(self, time_ns: int) -> str:
        if not time_ns:
            return "-"
        return datetime.fromtimestamp(time_ns / 1e9, self._zone).strftime("%H:%M")


def _payload(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The contract's payload from a form: numbers as numbers, said by the terminal."""
    numbers = {"good", "scrap", "recycled_pct", "mass_g", "remaining_g"}
    payload: dict[str, Any] = {}
    for key, value in form.items():
        try:
            payload[key] = float(value) if key in numbers else value
        except ValueError:
            raise web.HTTPBadRequest(text=f"{key}: expected a number") from None
    for key in ("good", "scrap"):
        if key in payload and float(payload[key]).is_integer():
            payload[key] = int(payload[key])
    payload["by"] = "terminal"
    if kind == "verdict" and not payload.get("reason"):
        payload.pop("reason", None)
    return payload


def _root(path: str) -> str:
    """A relative way back to the terminal's first page (behind a proxy as well)."""
    depth = path.count("/") - 1
    return "./" if depth <= 0 else "../" * depth
