"""The terminal: a page on the workshop's tablet where people give a verdict on a job,
the reason for a stop, and the lot they loaded. Served by the service itself (aiohttp on
its event loop), plain HTML, one PIN for the workshop and no accounts.

It never writes a KPI: every action is published to the operator MQTT contract
(gateways/operator_input.py), which the edge reads like any other source, so what is
said on the page is recorded and replayed like everything else. What it shows comes
from the KPI stage's memory.

Signing in with the PIN (from the environment or a file) opens a session for that device
(a random token, never the PIN; Lock ends it, a restart ends all); wrong PINs slow
further tries per device and for the whole page (edge/terminal/sign_in.py). Forms carry
the session's CSRF token; requests are capped at 16 KiB; scripts run only with the page's
nonce; every URL is relative, so the page works behind a reverse proxy under any path.
"""

from __future__ import annotations

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

from contract.errors import Unavailable
from contract.eventlog import log_event
from edge.pipeline.kpi.engine import KpiEngine, MachineKpi
from edge.pipeline.settings import PipelineConfig
from edge.terminal.sign_in import Sessions, SignInPace
from edge.terminal.text import TEXT, reason_label
from gateways.decoding import DecodeError
from gateways.operator_input import OperatorDecoder

COOKIE = "circlemade_terminal"
DEVICE_COOKIE = "circlemade_device"
"""A random id the browser keeps, so the pace of PIN tries is per tablet behind a proxy."""
MAX_REQUEST_BYTES = 16 * 1024
RECENT_LOTS = 6
REFRESH_S = 10
"""How often an open page reloads itself, unless something is being typed into it."""
Publish = Callable[[str, bytes], bool]


class TerminalUnavailable(Unavailable):
    """The page cannot be served (its address is taken or not this machine's): a start
    error naming ``[terminal] listen``."""


class Terminal:
    def __init__(self, config: PipelineConfig, pin: str, engine: Callable[[], KpiEngine | None],
                 decoder: OperatorDecoder, publish: Publish) -> None:
        self.config, self.engine, self.decoder, self.publish = config, engine, decoder, publish
        self._pin = pin
        self.pace, self.sessions = SignInPace(), Sessions()
        self._said: dict[tuple[str, str], dict[str, Any]] = {}
        """What the last form of a device on a machine's page came to, shown there once."""
        self.recent_lots: list[dict[str, str]] = []
        self._zone = ZoneInfo(config.site.timezone)
        self._pages = Environment(loader=PackageLoader("edge.terminal"),
                                  autoescape=select_autoescape(), auto_reload=False)
        self._runner: web.AppRunner | None = None

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
        session = request.cookies.get(COOKIE, "")
        signed_in = self.sessions.valid(session)
        if request.method == "POST" and request.path != "/login":
            form = await request.post()
            if not (signed_in and hmac.compare_digest(str(form.get("csrf", "")),
                                                      self.sessions.csrf(session))):
                raise web.HTTPForbidden(text="stale or missing form token: reload the page")
        if request.path == "/login" or signed_in:
            response: web.StreamResponse = await handler(request)
        elif request.path == "/":
            response = self._sign_in_page(request, wrong=False)
        else:
            raise web.HTTPSeeOther(_root(request.path))
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _sign_in_page(self, request: web.Request, wrong: bool, status: int = 200,
                      ) -> web.Response:
        """The PIN form; a browser without a device id gets one here."""
        page = self._page(request, "login.html", wrong=wrong, status=status)
        if not _device(request):
            page.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(18), httponly=True,
                            samesite="Strict", max_age=10 * 365 * 86400)
        return page

    # -- pages ------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.StreamResponse:
        """Check the PIN in this client's turn: wrong ones slow the next tries down."""
        client = _device(request) or f"address {request.remote}"
        wait_s = await self.pace.take_turn(client)
        if wait_s is None:
            raise web.HTTPTooManyRequests(text="too many PIN tries at once: wait a minute")
        form = await request.post()
        if not hmac.compare_digest(str(form.get("pin", "")).encode(), self._pin.encode()):
            self.pace.failed(client)
            log_event("terminal.wrong_pin", client=request.remote, waited_s=round(wait_s, 1))
            return self._sign_in_page(request, wrong=True, status=401)
        self.pace.succeeded(client)
        signed_in = web.HTTPSeeOther("./")
        signed_in.set_cookie(COOKIE, self.sessions.open(), httponly=True, samesite="Strict")
        raise signed_in

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Lock this device: its session ends here, the other tablets stay signed in."""
        session = request.cookies.get(COOKIE, "")
        self.sessions.close(session)
        self._said = {key: said for key, said in self._said.items() if key[0] != session}
        signed_out = web.HTTPSeeOther("./")
        signed_out.del_cookie(COOKIE)
        raise signed_out

    async def machines(self, request: web.Request) -> web.StreamResponse:
        return self._page(request, "machines.html", machines=[
            self._view(kpi) for kpi in self._kpis().values()])

    async def machine(self, request: web.Request) -> web.StreamResponse:
        """A machine's page; after a refused form, the error on it and the form kept."""
        kpi = self._kpis().get(request.match_info["machine"])
        if kpi is None:
            raise web.HTTPNotFound(text="no such machine")
        operator = self.config.operator
        said = self._said.pop((request.cookies.get(COOKIE, ""), kpi.machine.id), {})
        return self._page(request, "machine.html", m=self._view(kpi), said=said,
                          kept=said.get("kept", {}), scrap_reasons=operator.scrap_reasons,
                          planned=operator.planned_stops, unplanned=operator.unplanned_stops,
                          recent_lots=self.recent_lots)

    async def say(self, request: web.Request) -> web.StreamResponse:
        """Publish what was said to the operator topic; the edge applies it from there."""
        machine, kind = request.match_info["machine"], request.match_info["kind"]
        session = request.cookies.get(COOKIE, "")
        form = {key: str(value) for key, value in (await request.post()).items()
                if key != "csrf" and str(value) != ""}
        topic = f"{self.config.operator.prefix}/{self.config.site.id}/{machine}/{kind}"
        try:
            payload = _payload(kind, form)
            body = orjson.dumps(payload)
            self.decoder.decode(topic, body, time.time_ns())  # what the edge would refuse
        except DecodeError as exc:
            log_event("terminal.refused", machine=machine, kind=kind, error=str(exc))
            self._said[session, machine] = {"error": str(exc), "kept": {"kind": kind, **form}}
            raise web.HTTPSeeOther(f"../{machine}") from None
        sent = self.publish(topic, body)
        self._said[session, machine] = {"sent": sent, "text": ", ".join(
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

    def _page(self, request: web.Request, name: str, status: int = 200, **values: Any,
              ) -> web.Response:
        language, nonce = self.config.site.language, secrets.token_urlsafe(12)
        csrf = self.sessions.csrf(request.cookies.get(COOKIE, ""))
        html = self._pages.get_template(name).render(
            t=TEXT[language], lang=language, site=self.config.site.id,
            label=lambda reason: reason_label(language, reason),
            site_name=self.config.site.name or self.config.site.id, csrf=csrf,
            nonce=nonce, refresh_s=REFRESH_S, **values)
        response = web.Response(text=html, content_type="text/html", status=status)
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
            "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        return response

    def _view(self, kpi: MachineKpi) -> dict[str, Any]:
        m = kpi.m
        stop, lot = m.stops.current, m.material.lot
        last = m.jobs.ended[-1] if m.jobs.ended else None
        return {
            "id": kpi.machine.id, "name": kpi.machine.name or kpi.machine.id,
            "state": m.clock.state, "since": self._clock(m.clock.state_ns),
            "job": m.jobs.open.name if m.jobs.open is not None else "",
            "last_job": last.name if last is not None else "",
            "last_good": int(last.good) if last is not None else 0,
            "last_scrap": int(last.scrap) if last is not None else 0,
            "last_parts": f"{last.good:g} / {last.scrap:g}" if last is not None else "",
            "parts": _parts(last.good + last.scrap if last is not None else 0,
                            kpi.machine.parts_per_job),
            "stop": self._clock(stop.start_ns) if stop is not None else "",
            "stop_reason": stop.reason if stop is not None else "",
            "lot": lot.lot if lot is not None else "",
            "material": lot.material if lot is not None else kpi.machine.material,
            "upkeep": self._upkeep(kpi), "blocked": kpi.lifetime.blocked(time.time_ns()),
            "batch": _batch(kpi),
        }

    def _upkeep(self, kpi: MachineKpi) -> list[dict[str, Any]]:
        """Each component with an interval, the most urgent first, and its last service."""
        now, rows = time.time_ns(), []
        for name in kpi.lifetime.keys:
            due = kpi.lifetime.urgent(name, now)
            if due is None:
                continue
            action, at = kpi.m.lifetime.done.get(name, ("", 0))
            rows.append({"name": name, "status": due.status, "pct": round(due.due_pct),
                         "left": f"{due.due_in:.2f}" if abs(due.due_in) < 10
                         else f"{due.due_in:.0f}", "counts": due.counts, "done_action": action,
                         "done_at": self._clock(at)})
        return sorted(rows, key=lambda row: -row["pct"])

    def _clock(self, time_ns: int) -> str:
        if not time_ns:
            return "-"
        return datetime.fromtimestamp(time_ns / 1e9, self._zone).strftime("%H:%M")


def _batch(kpi: MachineKpi) -> dict[str, Any]:
    """The batch running on the machine: what it asks for and what it has made."""
    batches = kpi.batches.m
    run = batches.runs.get(batches.on.get(kpi.machine.id, ""))
    if run is None:
        return {}
    good = sum(job.good for job in run.jobs)
    return {"batch": run.batch, "product": run.product, "quantity": f"{run.quantity:g}",
            "good": f"{good:g}", "remaining": f"{run.quantity - good:g}"}


def _device(request: web.Request) -> str:
    """The browser's device id, when it sent a plausible one."""
    device = request.cookies.get(DEVICE_COOKIE, "")
    return f"device {device}" if 16 <= len(device) <= 64 and device.isascii() else ""


def _parts(counted: float, per_job: int) -> int:
    """How many parts the last job made, for the one-tap "all good" and "all scrap"."""
    return int(counted) if counted > 0 else max(per_job, 1)


def _payload(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The contract's payload from a form: numbers as numbers, said by the terminal."""
    numbers = {"good", "scrap", "rework", "recycled_pct", "mass_g", "remaining_g",
               "price_per_kg", "quantity"}
    payload: dict[str, Any] = {}
    for key, value in form.items():
        try:
            payload[key] = float(value) if key in numbers else value
        except ValueError:
            raise DecodeError(f"{key}: expected a number, got {value[:20]!r}") from None
    for key in ("good", "scrap", "rework", "quantity"):
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
