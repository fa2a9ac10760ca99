"""Prusa printers on PrusaLink (MK4, MK3.9, MK3.5, XL, MINI, CORE One): its HTTP API v1,
polled; ``endpoint = "http://mk4-01.local"`` and the API key (or the digest password).

Each round asks for the job, then the status, as Prusa's OpenAPI specification
(prusa3d/Prusa-Link-Web, spec/openapi.yaml) names them::

    GET /api/v1/job      {"id": 420, "state": "PRINTING", "progress": 42.0,
        "time_remaining": 520, "time_printing": 526, "file": {"name": "SPICE~1.gco",
        "display_name": "Spice_Harvester_0.3mm_PLA_MK3S_12m.gcode", "path": "/local",
        "size": 2393142, "m_timestamp": 1648042843, "meta": {"filament used [g]": 15.42,
        "filament used [mm]": 5142.06, "filament_type": "PLA",
        "estimated_print_time": 25421}}}
    GET /api/v1/status   {"job": {"id": 420, "progress": 42.0, "time_remaining": 520,
        "time_printing": 526}, "printer": {"state": "PRINTING", "temp_nozzle": 214.9,
        "target_nozzle": 215.0, "temp_bed": 59.5, "target_bed": 60.0, "axis_z": 0.5,
        "flow": 95, "speed": 100, "fan_hotend": 420, "fan_print": 420}}

(``/api/v1/job`` answers 204 without a job.) States: PRINTING -> running; PAUSED ->
stopped; ATTENTION (a person is needed: filament runout, a crash) and ERROR -> fault;
IDLE, READY, BUSY, FINISHED, STOPPED -> idle. A job starts when the state becomes
PRINTING, named by the file's long name, and ends FINISHED -> good, STOPPED -> aborted,
ERROR -> scrap (otherwise unknown). ``temp_nozzle``, ``target_nozzle``, ``temp_bed``,
``target_bed`` -> ``nozzle_temp_c``, ``nozzle_target_c``, ``bed_temp_c``,
``bed_target_c``; ``progress`` -> ``progress_pct``; ``time_remaining`` ->
``remaining_time_s`` (for OEE performance); the file's ``filament used [mm]`` times the
progress (all of it once FINISHED) -> ``filament_used_mm`` (grams by the machine's or
the loaded lot's material).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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
    from gateways.transports.http_poll import Fetch

STATES = {"PRINTING": "running", "PAUSED": "stopped", "ATTENTION": "fault", "ERROR": "fault",
          "IDLE": "idle", "READY": "idle", "BUSY": "idle", "FINISHED": "idle",
          "STOPPED": "idle"}
ACTIVE = frozenset({"PRINTING", "PAUSED", "ATTENTION"})
ENDS = {"FINISHED": "good", "STOPPED": "aborted", "ERROR": "scrap"}
TEMPERATURES = {"temp_nozzle": "nozzle_temp_c", "target_nozzle": "nozzle_target_c",
                "temp_bed": "bed_temp_c", "target_bed": "bed_target_c"}


class PrusaLinkSource(HttpSourceBase):
    profile: Literal["prusalink"]
    endpoint: HttpAddress
    """The printer's address, e.g. ``http://mk4-01.local`` or ``http://192.0.2.61``."""
    api_key_env: str | None = None
    """Environment variable holding the printer's API key (its settings page shows it)."""
    api_key_file: Path | None = None
    """File holding the API key."""
    username: str = "maker"
    """HTTP digest login, for printers set up with a password instead of a key."""
    password_env: str | None = None
    """Environment variable holding the digest password."""
    password_file: Path | None = None
    """File holding the digest password."""
    poll_interval_s: float = Field(default=2.0, gt=0)
    """How often the job and the status are asked for."""

    @model_validator(mode="after")
    def _some_login(self) -> PrusaLinkSource:
        if not (self.api_key_env or self.api_key_file or self.password_env
                or self.password_file):
            raise ValueError("api_key_env: PrusaLink needs its API key (api_key_env or "
                             "api_key_file) or a digest password (password_env or "
                             "password_file)")
        return self

    def secrets(self) -> list[tuple[str, str | None, Path | None]]:
        return [("api_key", self.api_key_env, self.api_key_file),
                ("password", self.password_env, self.password_file)]

    def session_options(self) -> dict[str, Any]:
        import aiohttp

        key = read_secret(self.api_key_env, self.api_key_file)
        if key is not None:
            return {"headers": {"X-Api-Key": key.get_secret_value()}}
        password = read_secret(self.password_env, self.password_file)
        assert password is not None  # the model requires one or the other
        return {"middlewares": (aiohttp.DigestAuthMiddleware(
            self.username, password.get_secret_value()),)}

    def decoder(self, site: str, machine: str) -> PrusaLinkDecoder:
        return PrusaLinkDecoder(site, machine)

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        from gateways.transports.http_poll import HttpGateway

        return HttpGateway(self, route, decoder, counters, PrusaLinkPoller())


class PrusaLinkPoller:
    """The job first (its name belongs to the start the status may show), then the
    status; each as the printer wrote it."""

    async def round(self, fetch: Fetch) -> list[tuple[str, Any]]:
        from gateways.transports.http_poll import HttpRefused

        answers: list[tuple[str, Any]] = []
        for key, path in (("job", "/api/v1/job"), ("status", "/api/v1/status")):
            status, body = await fetch(path)
            if status in (401, 403):
                raise HttpRefused(f"{path}: HTTP {status}: the printer refused the login; "
                                  "check the API key (or the digest password)")
            if status == 204:
                answers.append((key, None))
            elif status == 200:
                answers.append((key, body))
            else:
                raise HttpRefused(f"{path}: HTTP {status}: {body[:80]!r}")
        return answers


class PrusaLinkDecoder(DecoderBase):
    def __init__(self, site: str, machine: str) -> None:
        super().__init__(site, machine)
        self.planned_mm = 0.0
        """The job file's filament length, used in proportion to progress."""
        self.job_id: Any = None
        self.file_name = ""
        """The file the printer's job document names: the next job's name."""

    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        if key == "job":
            self._job(json_document(value, key) if value is not None else None)
            return []
        if key != "status":
            raise DecodeError(f"{key}: expected the job or the status document")
        document = json_document(value, key)
        printer = document.get("printer")
        if not isinstance(printer, dict) or printer.get("state") not in STATES:
            raise DecodeError(f"status: expected printer.state, one of {', '.join(STATES)}; "
                              f"got {str(printer)[:80]}")
        state = str(printer["state"])
        values = [self.reading(signal, as_number(printer[field], "printer", field), time_ns)
                  for field, signal in TEMPERATURES.items() if printer.get(field) is not None]
        job = document.get("job") if isinstance(document.get("job"), dict) else {}
        assert isinstance(job, dict)
        active = state in ACTIVE
        if active and job.get("progress") is not None:
            progress = as_number(job["progress"], "job", "progress")
            values.append(self.reading("progress_pct", progress, time_ns))
            if self.planned_mm:
                values.append(self.reading("filament_used_mm",
                                           self.planned_mm * progress / 100, time_ns))
        ended = self.job_active is not False and ENDS.get(state) == "good"
        if not active and ended and self.planned_mm:
            values.append(self.reading("filament_used_mm", self.planned_mm, time_ns))
        if active and job.get("time_remaining") is not None:
            values.append(self.reading("remaining_time_s", as_number(
                job["time_remaining"], "job", "time_remaining"), time_ns))
        events: list[Reading] = []
        if active and self.job_active and job.get("id", self.job_id) != self.job_id:
            # another job already: the end of the last one was not seen between two polls
            events = self.job_transition(False, "unknown", "", time_ns)
        self.job_id = job.get("id", self.job_id)
        starting = active and not self.job_active
        events += self.job_transition(active, None if active else ENDS.get(state, "unknown"),
                                      self.file_name if starting else "", time_ns)
        ordered = events + values if starting else values + events
        return [self.reading("state", STATES[state], time_ns), *ordered]

    def offline(self, time_ns: int) -> list[Reading]:
        return [self.reading("state", "offline", time_ns)]

    def _job(self, job: dict[str, Any] | None) -> None:
        file = job.get("file") if job is not None else None
        if not isinstance(file, dict):
            return
        name = file.get("display_name") or file.get("name")
        if isinstance(name, str) and name:
            self.file_name = name
        meta = file.get("meta")
        used = meta.get("filament used [mm]") if isinstance(meta, dict) else None
        self.planned_mm = float(used) if isinstance(used, int | float) else 0.0


PROFILE = Profile(PrusaLinkSource, fuzz=tuple(
    (key, {"endpoint": "http://127.0.0.1", "api_key_env": "PRUSALINK_KEY"})
    for key in ("job", "status")))
