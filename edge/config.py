"""The configuration: one TOML file, validated by pydantic, secrets from env or files.

Errors name the file, the dotted field path (``machines[2].sources[0].topic``), the bad
value and what was expected, so that a person can fix the file without reading code.
``circlemade example-config`` prints every field, documented.
"""

from __future__ import annotations

import hashlib
import os
import string
import tomllib
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contract.addresses import Listen
from contract.errors import ConfigProblem
from contract.materials import DENSITY_G_PER_CM3
from contract.model import (
    COUNTRY_PATTERN,
    CPC_PATTERN,
    IDENTIFIER_PATTERN,
    SHARD_PATTERN,
    TOPIC_LEVELS_PATTERN,
    Identifier,
    PositiveSeconds,
    StrictModel,
)
from contract.reading import TimeBounds
from contract.schema import MEASUREMENTS
from contract.secrets import SECRET_KEYS, SecretUnavailable, read_secret
from gateways.broker import Broker
from gateways.operator_input import OperatorSettings
from gateways.profiles import PROFILE_NAMES, Source
from gateways.profiles.base import MqttSourceBase

MachineKind = Literal["printer", "cnc", "laser", "meter", "router", "other"]


class Site(StrictModel):
    id: Identifier
    """Becomes the ``site`` tag: letters, digits, ``.``, ``_``, ``-``."""
    name: str = ""
    """For people: the live view, reports."""
    timezone: str = "Europe/Brussels"
    """IANA time zone of the calendar, quiet hours and messages."""
    country: str = Field(default="BE", pattern=COUNTRY_PATTERN)
    """ISO 3166-1 alpha-2 code of where the site is: product footprints say it."""
    language: Literal["en", "fr"] = "en"
    """Of the terminal page: English or French (Brussels)."""
    co2e_kg_per_kwh: float = Field(default=0.16, ge=0)
    """Grid emission factor for jobs' CO2e (Belgian grid mix, order of magnitude)."""
    co2e_source: str = "order of magnitude for the Belgian grid mix; set your own"
    """Where co2e_kg_per_kwh comes from (your supplier's figure, a national inventory):
    reports and product footprints state it beside the factor."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; expected an IANA name such as "
                             "'Europe/Brussels'") from None
        return name


class Influx(StrictModel):
    """A store the points are written to: ``[influx]`` (the first) and each ``[[sinks]]``.
    Each has its own queue in the buffer, so one store's outage never holds back another."""

    name: Identifier = "influx"
    """Names this store in ``circlemade status``, the logs and the health counters (source
    ``sink-<name>``; the first store's keep ``sink`` and ``buffer``)."""
    api: str
    """The kind of store (edge/storage/stores/): v1: ``/write?db=&rp=`` (InfluxDB 1.x);
    v2: ``/api/v2/write`` (2.x, 3.x, 1.8+); json-lines: a local file, for debugging."""
    url: str
    """Where InfluxDB (or a server speaking its write API) answers, without credentials;
    json-lines: ``file:///path``."""
    database: str = "circlemade"
    """v1: the database, created when missing."""
    retention_policy: str | None = None
    """v1: a retention policy of the database (its default when unset)."""
    bucket: str = "circlemade"
    """v2: the bucket (InfluxDB 3: the database)."""
    org: str = "circlemade"
    """v2: the organisation."""
    username: str | None = None
    """v1: basic auth user, with the password from password_env or password_file."""
    password_env: str | None = None
    """v1: environment variable holding the password."""
    password_file: Path | None = None
    """v1: file holding the password."""
    token_env: str | None = None
    """v2: environment variable holding the API token."""
    token_file: Path | None = None
    """v2: file holding the API token (e.g. a systemd credential)."""
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 5000
    """Points per write request."""
    flush_interval_s: PositiveSeconds = 0.1
    """How long a small batch waits to grow before it is written."""
    timeout_s: PositiveSeconds = 10.0
    """Per write request."""
    retry_min_s: PositiveSeconds = 0.5
    """Backoff after a failed write, doubling up to retry_max_s (a Retry-After is obeyed)."""
    retry_max_s: PositiveSeconds = 30.0
    """The backoff's cap."""
    measurements: list[str] | None = None
    """Which measurements this store receives, e.g. ``["job", "oee", "circularity",
    "downtime", "scrap", "material_lot", "energy_hourly", "alert", "edge_health"]`` for a
    central store that wants KPIs, not 1 Hz telemetry; unset: all of them."""
    max_points: int | None = Field(default=None, ge=1000)
    """This store's own bound of points waiting in the buffer; unset: [buffer] max_points."""
    max_age_s: float | None = Field(default=None, gt=0)
    """This store's own bound of the age of waiting points; unset: [buffer] max_age_s."""

    @field_validator("measurements")
    @classmethod
    def _known_measurements(cls, names: list[str] | None) -> list[str] | None:
        for name in names or []:
            if name not in MEASUREMENTS:
                raise ValueError(f"unknown measurement {name!r}; expected some of: "
                                 f"{', '.join(MEASUREMENTS)}")
        return names

    @field_validator("api")
    @classmethod
    def _known_store(cls, api: str) -> str:
        from edge.storage.stores import STORES

        if api not in STORES:
            raise ValueError(f"unknown kind of store; expected one of: {', '.join(STORES)}")
        return api

    @field_validator("url")
    @classmethod
    def _store_url(cls, value: str, info: ValidationInfo) -> str:
        """The URL its kind of store takes (a file store: ``file:///path``)."""
        from edge.storage.stores import STORES

        store = STORES.get(info.data.get("api", ""))
        return value if store is None else store.check_url(value)

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        if "@" in urlsplit(url).netloc:
            raise PydanticCustomError(
                "url_credentials", "credentials must not be written in the URL (they would "
                "be logged); give username with password_env or password_file, or token_env "
                "or token_file")
        return url

    def token(self) -> SecretStr | None:
        return read_secret(self.token_env, self.token_file)

    def password(self) -> SecretStr | None:
        return read_secret(self.password_env, self.password_file)


class PowerThresholds(StrictModel):
    """State from power, for a machine that only has a smart plug."""

    running_w: float = Field(gt=0)
    """At or above this power the machine is running."""
    idle_w: float = Field(default=0.0, ge=0)
    """At or above this (and below running_w) idle; below, stopped."""


class BufferSettings(StrictModel):
    path: Path | None = None
    """SQLite file; default $XDG_STATE_HOME/circlemade/<site>-<target>.sqlite."""
    max_points: int = Field(default=5_000_000, ge=1000)
    """Past this many points waiting, the oldest are dropped and counted."""
    max_bytes: int = Field(default=2_000_000_000, ge=1_000_000)
    """Bound of the file's pages in use; past it (like past max_points or max_age_s) the
    oldest points are dropped and counted."""
    max_age_s: float = Field(default=7 * 86400, gt=0)
    """Points older than this are dropped and counted (default 7 days)."""
    min_free_bytes: int = Field(default=50_000_000, ge=0)
    """Free space the buffer leaves on its disk: below it nothing is appended and nothing
    acknowledged (the broker keeps the messages) until the sink has made room."""
    fsync: bool = True
    """Each commit is on the disk (fsync) before its messages are acknowledged, so a power
    cut loses nothing acknowledged; false saves the fsync per batch on slow SD cards and
    keeps only what survives a killed process."""


class StatusSettings(StrictModel):
    """When ``circlemade status`` says something is wrong (exit 1)."""

    max_write_failure_s: float = Field(default=300.0, gt=0)
    """Writes to InfluxDB failing for longer than this."""
    max_buffer_share: float = Field(default=0.8, gt=0, le=1)
    """The buffer holding more than this share of max_points."""
    dropped_within_s: float = Field(default=3600.0, gt=0)
    """Points dropped (past a buffer bound) within this long."""


class ClockSettings(StrictModel):
    """Which reading times are believed; a reading outside them is bad input (counted and
    dead-lettered), never stored or given to the KPI stage."""

    max_ahead_s: float = Field(default=300.0, gt=0)
    """Readings dated more than this ahead of the edge's clock (in replay: the recording's
    clock) are refused."""
    earliest: date = date(2000, 1, 1)
    """Readings dated before this day (UTC) are refused: a device whose clock was never set."""

    def bounds(self) -> TimeBounds:
        earliest = datetime.combine(self.earliest, time(), UTC)
        return TimeBounds(int(earliest.timestamp()) * 10**9, int(self.max_ahead_s * 1e9))


class LogSettings(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    """debug, info, warning or error."""
    format: Literal["json", "text"] = "json"
    """json: one object per line, for machines (journald, Loki); text: for people."""


class Machine(StrictModel):
    id: Identifier
    """Becomes the ``machine`` tag: letters, digits, ``.``, ``_``, ``-``."""
    kind: MachineKind
    """printer, cnc, laser, meter, router or other: picks the dashboards' groups."""
    name: str = ""
    """For people: dashboards, terminal, alert messages."""
    sources: list[Source] = Field(min_length=1)
    power_thresholds: PowerThresholds | None = None
    silence_s: float = Field(default=300.0, gt=0)
    """No message for this long marks the machine offline."""
    material: str = "PLA"
    """The material it uses when no lot is loaded (PLA, PETG, ABS, ASA, TPU, or any
    name with density_g_cm3)."""
    filament_diameter_mm: float = Field(default=1.75, gt=0)
    """Printers: filament length to grams."""
    density_g_cm3: float | None = Field(default=None, gt=0)
    """The material's density, for a material the edge does not know."""
    stock_g: dict[str, float] = Field(default_factory=dict)
    """CNC, laser: stock mass per program; key "*" for any other program."""
    ideal_cycle_s: float | None = Field(default=None, gt=0)
    """The ideal time of one job or part, for OEE performance (a slicer's estimate
    takes precedence)."""
    program_cycle_s: dict[str, float] = Field(default_factory=dict)
    """Ideal cycle time per program name, over ideal_cycle_s."""
    parts_per_job: int = Field(default=1, ge=0)
    """Parts one job makes, for machines that do not count them."""
    max_power_w: float = Field(default=30_000.0, gt=0)
    """Plausibility bound for energy counters: more than this is a replaced meter."""
    counter_wrap_kwh: float | None = Field(default=None, gt=0)
    """Where the energy counter wraps to 0, when its device wraps it."""

    @field_validator("material")
    @classmethod
    def _material_name(cls, name: str) -> str:
        return name.upper() if name.upper() in DENSITY_G_PER_CM3 else name

    @model_validator(mode="after")
    def _known_material(self) -> Machine:
        """Any material name with its density; without one, a name whose density is
        known (PLA+, recycled PETG or a composite are as the workshop calls them)."""
        if self.density_g_cm3 is None and self.material.upper() not in DENSITY_G_PER_CM3:
            raise ValueError(f"material: unknown material {self.material!r}; known are "
                             f"{', '.join(DENSITY_G_PER_CM3)} (or give density_g_cm3)")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKING_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class Break(StrictModel):
    """Planned downtime inside a shift (ISO 22400: taken out of the planned time)."""

    start: time
    """Local time, e.g. 12:00."""
    end: time
    """Local time; an end before the start runs past midnight."""

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("a break ends after it starts")
        return self


def _minutes_into(start: time, moment: time) -> int:
    """Minutes from ``start`` to the next ``moment`` (0 to a day)."""
    return ((moment.hour - start.hour) * 60 + moment.minute - start.minute) % 1440


class Shift(StrictModel):
    name: str
    """Names the shift's OEE windows."""
    start: time
    """Local time, e.g. 06:00:00."""
    end: time
    """Local time; an end before the start runs past midnight."""
    breaks: list[Break] = Field(default_factory=list)
    """Breaks within this shift, e.g. [{start = "10:00", end = "10:30"}]."""

    @model_validator(mode="after")
    def _breaks_inside(self) -> Self:
        length = _minutes_into(self.start, self.end) or 1440
        for i, pause in enumerate(self.breaks):
            begin = _minutes_into(self.start, pause.start)
            if begin + (_minutes_into(pause.start, pause.end) or 1440) > length:
                raise ValueError(f"breaks[{i}] ({pause.start:%H:%M}-{pause.end:%H:%M}) is not "
                                 f"within the shift ({self.start:%H:%M}-{self.end:%H:%M})")
        return self

    def breaks_with(self, every: list[Break]) -> list[tuple[time, time]]:
        """Its own breaks and those of the calendar's ``every`` that fall within it."""
        length = _minutes_into(self.start, self.end) or 1440
        inside = [b for b in every if _minutes_into(self.start, b.start)
                  + (_minutes_into(b.start, b.end) or 1440) <= length]
        return [(b.start, b.end) for b in [*self.breaks, *inside]]


class Calendar(StrictModel):
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WORKING_DAYS))
    """Days with planned time (mon ... sun)."""
    shifts: list[Shift] = Field(default_factory=lambda: [
        Shift(name="day", start=time(8), end=time(17),
              breaks=[Break(start=time(12), end=time(12, 30))])])
    """The default is one day shift with half an hour for lunch."""
    breaks: list[Break] = Field(default_factory=list)
    """Breaks of every shift they fall within (a shift's own go in its ``breaks``)."""
    holidays: list[date] = Field(default_factory=list)
    """Days without planned time, e.g. [2026-12-25]."""

    def shift_breaks(self) -> dict[str, list[tuple[time, time]]]:
        return {shift.name: shift.breaks_with(self.breaks) for shift in self.shifts}


class AlertRule(StrictModel):
    """One ``[[alerts]]`` entry (docs/alerts.md): a rule, the machines it watches, its
    parameters. Rules run on the KPI stage's clock, so a replay computes the same alerts."""

    rule: str
    """fault, silent, standby, stopped (a module each in edge/pipeline/kpi/rules/), edge
    or job_done (docs/alerts.md)."""
    machines: list[str] = Field(default_factory=lambda: ["*"])
    """Machine ids, or "*" for all (narrowed by ``kind``)."""
    kind: MachineKind | None = None
    """Only the machines of this kind (printer, cnc, laser, meter, router, other)."""
    after_min: float = Field(default=10.0, gt=0, le=7 * 24 * 60)
    """stopped, standby, silent: how long the condition holds before the alert fires;
    edge: how long InfluxDB is out of reach, and how long after points were dropped it
    resolves."""
    above_w: float | None = Field(default=None, gt=0)
    """standby: the power above which a machine that is not running is left on."""
    above_pct: float = Field(default=80.0, gt=0, le=100)
    """edge: how full the buffer may get, in percent of its bound."""
    repeat_min: float | None = Field(default=None, gt=0)
    """Tell a firing alert again every so often until it resolves (default: once)."""
    on_scrap: bool = False
    """fault: also when a job ends as scrap or aborted."""
    notify: list[str] = Field(default_factory=list)
    """apprise URLs that hold no secret (e.g. ntfy://ntfy.sh/my-workshop-topic)."""
    notify_env: list[str] = Field(default_factory=list)
    """Environment variables that hold apprise URLs with their tokens."""
    notify_file: list[Path] = Field(default_factory=list)
    """Files that hold apprise URLs with their tokens, one per line."""
    quiet: list[str] = Field(default_factory=list)
    """Times it sends nothing (the point is still written), e.g. ["22:00-07:00"], in the
    site's time zone."""

    @field_validator("quiet")
    @classmethod
    def _quiet_times(cls, spans: list[str]) -> list[str]:
        for span in spans:
            try:
                begin, end = span.split("-")
                time.fromisoformat(begin)
                time.fromisoformat(end)
            except ValueError:
                raise ValueError(f"{span!r}: expected HH:MM-HH:MM, e.g. 22:00-07:00") from None
        return spans

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        from edge.pipeline.kpi.rules import RULE_NAMES

        if rule not in RULE_NAMES:
            *first, last = (repr(name) for name in RULE_NAMES)
            raise ValueError(f"Input should be {', '.join(first)} or {last}")
        return rule

    @model_validator(mode="after")
    def _parameters(self) -> AlertRule:
        from edge.pipeline.kpi.rules import RULES

        for name, why in getattr(RULES.get(self.rule), "needs", {}).items():
            if getattr(self, name) is None:
                raise ValueError(f"{name}: the {self.rule} rule needs {why}")
        if self.rule == "edge" and (self.machines != ["*"] or self.kind is not None):
            raise ValueError("machines, kind: the edge rule watches the edge itself, not "
                             "machines")
        return self

    def watches(self, machine: Machine) -> bool:
        return self.rule != "edge" and (
            "*" in self.machines or machine.id in self.machines) and (
            self.kind is None or machine.kind == self.kind)


class TerminalSettings(StrictModel):
    """The page on the workshop's tablet (docs/operators.md). Off by default: it takes
    input that changes the KPIs, so opening it to the workshop's network is a decision.
    ``listen = "127.0.0.1:8480"`` serves this box only (a reverse proxy in front),
    ``"0.0.0.0:8480"`` the whole LAN."""

    listen: Listen | None = None
    """host:port to serve the page on; unset: no terminal."""
    pin_env: str | None = None
    """Environment variable holding the workshop's PIN."""
    pin_file: Path | None = None
    """The workshop's PIN (or token), from the environment or a file, never here."""


class Product(StrictModel):
    """The jobs that make one product, for reports and product footprints."""

    name: str = Field(min_length=1)
    """How reports name it."""
    cpc: str = Field(default="369", pattern=CPC_PATTERN)
    """Its UN CPC class, for the PACT footprint (default 369: other plastics products)."""
    jobs: list[str] = Field(min_length=1)
    """Patterns of job names (``*`` and ``?``, as in file names), e.g. ``["bracket*"]``;
    a job matching none is its own product (its name without the file extension)."""


class ClusterSite(StrictModel):
    id: Identifier
    """The member's site id."""
    name: str = ""
    """Its name, shown unless anonymised."""


class ClusterSettings(StrictModel):
    """The cluster's dashboards and report (docs/cluster.md)."""

    sites: list[ClusterSite] = Field(default_factory=list)
    """The members, in the order the dashboards list them."""
    anonymise: bool = False
    """Show the other members as "workshop A, B, ..." (this site keeps its name)."""


class Config(StrictModel):
    site: Site
    brokers: list[Broker] = Field(default_factory=lambda: [Broker()])
    """Default: one broker ``main`` at 127.0.0.1:1883, and only when an MQTT source needs
    it: an edge with only HTTP, OPC UA or Modbus sources connects to no broker."""
    influx: Influx
    sinks: list[Influx] = Field(default_factory=list)
    """More stores the points are forwarded to, e.g. the cluster's central store
    (docs/cluster.md); each with a name of its own."""
    machines: list[Machine] = Field(min_length=1)
    calendar: Calendar = Field(default_factory=Calendar)
    buffer: BufferSettings = Field(default_factory=BufferSettings)
    logging: LogSettings = Field(default_factory=LogSettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)
    status: StatusSettings = Field(default_factory=StatusSettings)
    operator: OperatorSettings = Field(default_factory=OperatorSettings)
    terminal: TerminalSettings = Field(default_factory=TerminalSettings)
    alerts: list[AlertRule] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    """Products by job name, for the monthly report (docs/report.md)."""
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    shard: str | None = Field(default=None, pattern=SHARD_PATTERN)
    """``k/N``: this instance runs the k-th of N shares of the machines (by a stable hash
    of their ids), for a workshop that outgrows one edge process; every instance gets
    the same file (docs/design.md, sharding). Unset: all of them."""
    _others: frozenset[str] = PrivateAttr(default=frozenset())
    health_interval_s: PositiveSeconds = 10.0
    """How often health counters are written to ``edge_health``, the status file is
    updated and time-driven KPIs and alerts are checked."""
    stop_timeout_s: PositiveSeconds = 10.0
    """A stop (SIGTERM, SIGINT) ends within this, whatever InfluxDB does: what is not
    written by then stays in the buffer. Keep it below systemd's TimeoutStopSec."""

    @property
    def others(self) -> frozenset[str]:
        """The machines other shards own (their operator input is theirs)."""
        return self._others

    @model_validator(mode="after")
    def _no_implicit_broker(self) -> Self:
        """A broker nobody wrote is only assumed for MQTT sources: otherwise the edge
        would connect to it for operator input and report it down for ever."""
        mqtt = any(isinstance(source, MqttSourceBase)
                   for machine in self.machines for source in machine.sources)
        if "brokers" not in self.model_fields_set and not mqtt:
            object.__setattr__(self, "brokers", [])
        return self

    def operator_input(self) -> bool:
        """Whether operator input is subscribed to."""
        wanted = self.operator.enabled
        return wanted if wanted is not None else any(
            b.id == self.operator.broker for b in self.brokers)

    def stores(self) -> list[Influx]:
        """Every store written to: ``[influx]`` first, then ``[[sinks]]``."""
        return [self.influx, *self.sinks]

    def shown_names(self, sites: list[str]) -> dict[str, str]:
        """How reports and cluster dashboards name each site: its [cluster] name, or
        with ``anonymise`` a letter for every member but this site."""
        named = {s.id: s.name or s.id for s in self.cluster.sites}
        named.setdefault(self.site.id, self.site.name or self.site.id)
        letters = iter(string.ascii_uppercase)
        return {site: named.get(site, site)
                if not self.cluster.anonymise or site == self.site.id
                else f"workshop {next(letters)}" for site in sites}

    def broker(self, broker_id: str) -> Broker:
        return next(b for b in self.brokers if b.id == broker_id)

    def buffer_path(self) -> Path:
        """One buffer per site and InfluxDB target, so that points never change target,
        and per shard, so that shards on one box never share one."""
        shard = f"-shard-{self.shard.replace('/', '-of-')}" if self.shard else ""
        if self.buffer.path is not None:
            path = self.buffer.path
            return path.with_name(f"{path.stem}{shard}{path.suffix}") if shard else path
        target = f"{self.influx.url}|{self.influx.database}|{self.influx.bucket}"
        digest = hashlib.sha1(target.encode()).hexdigest()[:8]
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state) / "circlemade" / f"{self.site.id}-{digest}{shard}.sqlite"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        got = f" (got {self.value})" if self.value is not None else ""
        return f"{self.path}: {self.message}{got}" if self.path else f"{self.message}{got}"


class ConfigError(ConfigProblem):
    """A config that must not start the service; ``str()`` lists every problem."""

    def __init__(self, file: Path | str, problems: list[Problem]) -> None:
        self.file = str(file)
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.file}: {p}" for p in self.problems]
        return "\n".join(lines)


def load_config(path: Path | str, environ: Mapping[str, str] | None = None,
                secrets: bool = True) -> Config:
    """Read, validate and cross-check ``path``; raise :class:`ConfigError` when it is bad.
    ``secrets=False`` leaves out the check that the secrets can be read: for commands
    that only read the service's files, such as ``status``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, [Problem("", f"cannot read the file: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [Problem("", f"not valid TOML: {exc}")]) from None
    return parse_config(raw, path, environ, secrets)


def parse_config(
    raw: dict[str, Any], source: Path | str = "<config>", environ: Mapping[str, str] | None = None,
    secrets: bool = True,
) -> Config:
    problems = list(_literal_secrets(raw, ""))
    if problems:
        raise ConfigError(source, problems)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_problem(error) for error in exc.errors()]) from None
    problems = list(_cross_check(config, environ, secrets))
    if problems:
        raise ConfigError(source, problems)
    return own_share(config)


def shard_of(machine: str, shards: int) -> int:
    """Which of ``shards`` shares a machine belongs to (1-based): a hash of its id that
    is the same on every box and in every Python (not ``hash()``, which is salted)."""
    return int(hashlib.sha256(machine.encode()).hexdigest()[:8], 16) % shards + 1


def own_share(config: Config) -> Config:
    """The config as this shard runs it: its machines only, the others remembered (their
    operator input is theirs, not bad input)."""
    if config.shard is None:
        return config
    k, n = (int(part) for part in config.shard.split("/"))
    mine = [m for m in config.machines if shard_of(m.id, n) == k]
    share = config.model_copy(update={"machines": mine})
    share._others = frozenset(m.id for m in config.machines if m not in mine)
    return share


def _literal_secrets(node: Any, path: str) -> Iterator[Problem]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key.lower() in SECRET_KEYS:
                yield Problem(here, f"secrets must not be written in the config file; name an "
                                    f"environment variable ({key}_env) or a file ({key}_file)")
            else:
                yield from _literal_secrets(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _literal_secrets(item, f"{path}[{index}]")


def _cross_check(config: Config, environ: Mapping[str, str] | None,
                 secrets: bool = True) -> Iterator[Problem]:
    broker_ids = [b.id for b in config.brokers]
    if config.shard is not None:
        k, n = (int(part) for part in config.shard.split("/"))
        if k > n:
            yield Problem("shard", f"expected k/N with k at most N, e.g. 1/{n}", config.shard)
    yield from _duplicates("brokers", broker_ids)
    yield from _duplicates("machines", [m.id for m in config.machines])
    for m, machine in enumerate(config.machines):
        for s, source in enumerate(machine.sources):
            if not isinstance(source, MqttSourceBase):
                for name, env, file in source.secrets():
                    yield from _secret(f"machines[{m}].sources[{s}].{name}", env, file,
                                       environ, secrets)
            elif source.broker not in broker_ids:
                yield Problem(f"machines[{m}].sources[{s}].broker",
                              f"no broker with this id; defined are: {', '.join(broker_ids)}",
                              repr(source.broker))
            else:
                for field, message in source.problems(config.broker(source.broker)):
                    yield Problem(f"machines[{m}].sources[{s}].{field}", message)
    if config.operator.enabled and config.operator.broker not in broker_ids:  # asked for
        yield Problem("operator.broker", f"no broker with this id; defined are: "
                      f"{', '.join(broker_ids)}", repr(config.operator.broker))
    reasons = config.operator.planned_stops + config.operator.unplanned_stops
    for reason in sorted({r for r in reasons if reasons.count(r) > 1}):
        yield Problem("operator.unplanned_stops", "a reason is either planned or unplanned",
                      repr(reason))
    machine_ids = {m.id for m in config.machines}
    for a, alert in enumerate(config.alerts):
        for unknown in sorted(set(alert.machines) - machine_ids - {"*"}):
            yield Problem(f"alerts[{a}].machines", "no machine with this id", repr(unknown))
        yield from _notify_targets(f"alerts[{a}]", alert, environ, secrets)
    terminal = config.terminal
    if terminal.listen is not None:
        if terminal.pin_env is None and terminal.pin_file is None:
            yield Problem("terminal.pin_env", "the terminal needs a PIN: pin_env or pin_file")
        yield from _secret("terminal.pin", terminal.pin_env, terminal.pin_file, environ,
                           secrets, _long_enough)
        if not config.operator_input():
            yield Problem("terminal.listen", "the terminal publishes to [operator] broker, "
                          "which is not defined or not enabled")
    for b, broker in enumerate(config.brokers):
        yield from _secret(f"brokers[{b}].password", broker.password_env, broker.password_file,
                           environ, secrets)
    named = {config.influx.name: "influx"}
    for i, sink in enumerate(config.sinks):
        if sink.name in named:
            yield Problem(f"sinks[{i}].name", f"duplicate name; {named[sink.name]} has the "
                          "same (the first store is named 'influx' unless told otherwise)",
                          repr(sink.name))
        named.setdefault(sink.name, f"sinks[{i}]")
    for where, store in zip(["influx", *(f"sinks[{i}]" for i in range(len(config.sinks)))],
                            config.stores(), strict=True):
        yield from _secret(f"{where}.token", store.token_env, store.token_file, environ,
                           secrets)
        yield from _secret(f"{where}.password", store.password_env, store.password_file,
                           environ, secrets)


def notify_urls(alert: AlertRule, environ: Mapping[str, str] | None = None) -> list[str]:
    """The rule's apprise URLs, those with secrets read from the environment or files."""
    urls = list(alert.notify)
    for env in alert.notify_env:
        secret = read_secret(env, None, environ)
        urls += [secret.get_secret_value()] if secret is not None else []
    for file in alert.notify_file:
        secret = read_secret(None, file, environ)
        urls += secret.get_secret_value().split() if secret is not None else []
    return urls


def _notify_targets(where: str, alert: AlertRule, environ: Mapping[str, str] | None,
                    secrets: bool) -> Iterator[Problem]:
    """Every target must be a URL apprise knows; those with secrets are not echoed."""
    import apprise

    for n, url in enumerate(alert.notify):
        if not apprise.Apprise().add(url):
            yield Problem(f"{where}.notify[{n}]", "not an apprise URL apprise can use "
                          "(e.g. ntfy://ntfy.sh/TOPIC, json://HOST/PATH)", repr(url))
    if not secrets:
        return
    sources: list[tuple[str, str | None, Path | None]] = [
        *((f"notify_env[{n}]", env, None) for n, env in enumerate(alert.notify_env)),
        *((f"notify_file[{n}]", None, file) for n, file in enumerate(alert.notify_file))]
    for key, env, file in sources:
        try:
            secret = read_secret(env, file, environ)
        except SecretUnavailable as exc:
            yield Problem(f"{where}.{key}", str(exc))
            continue
        for url in secret.get_secret_value().split() if secret is not None else []:
            if not apprise.Apprise().add(url):
                yield Problem(f"{where}.{key}", "does not hold an apprise URL apprise can "
                              "use (not shown: it may hold a token)")


def _duplicates(section: str, ids: list[str]) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, item in enumerate(ids):
        if item in first:
            yield Problem(f"{section}[{index}].id",
                          f"duplicate id; {section}[{first[item]}] has the same", repr(item))
        else:
            first[item] = index


MIN_PIN = 6
"""The shortest terminal PIN (or passphrase) taken: the page faces the workshop's LAN."""


def _long_enough(pin: str) -> str | None:
    """Why a terminal PIN is refused (never saying what it is), or None."""
    if len(pin.strip()) < MIN_PIN:
        return (f"a PIN of at least {MIN_PIN} digits, or a passphrase of {MIN_PIN} characters "
                "or more, is needed: an empty or short one lets anyone on the LAN in")
    return None


def _secret(
    field: str, env: str | None, file: Path | None, environ: Mapping[str, str] | None,
    readable: bool = True, refused: Callable[[str], str | None] | None = None,
) -> Iterator[Problem]:
    """Problems of a secret's place; ``refused`` says why its value will not do."""
    if env is not None and file is not None:
        yield Problem(field + "_env", f"give either {field}_env or {field}_file, not both")
        return
    if not readable:
        return
    where = field + ("_env" if env is not None else "_file")
    try:
        secret = read_secret(env, file, environ)
    except SecretUnavailable as exc:
        yield Problem(where, str(exc))
        return
    why = refused(secret.get_secret_value()) if refused and secret is not None else None
    if why:
        yield Problem(where, why)


_FRIENDLY = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (check the spelling against "
                       "'circlemade example-config')",
}
PATTERN_WORDS = {
    IDENTIFIER_PATTERN: "an id: letters, digits, '_', '.' and '-', starting with a letter or "
                        "digit, at most 64",
    COUNTRY_PATTERN: "two capital letters (ISO 3166), like BE",
    CPC_PATTERN: "a UN CPC code of up to 5 digits, like 369",
    SHARD_PATTERN: "this shard of all: like 1/2",
    TOPIC_LEVELS_PATTERN: "topic levels of letters, digits, '_', '.' and '-', like circlemade",
}
"""What each pattern of the config asks for, in words (pydantic would print the regex)."""


def _problem(error: Mapping[str, Any]) -> Problem:
    loc = error["loc"]
    # A source's loc carries the profile tag pydantic chose (sources, 0, "json", "fields");
    # the person wrote no such key, so it is left out of the path.
    loc = tuple(step for i, step in enumerate(loc)
                if not (step in PROFILE_NAMES and i > 0 and isinstance(loc[i - 1], int)))
    path = _dotted(loc)
    message = _FRIENDLY.get(error["type"], error["msg"])
    if error["type"] == "string_pattern_mismatch":
        message = "expected " + PATTERN_WORDS.get(error["ctx"]["pattern"], "another form")
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path += ".profile"
        message = f"unknown payload profile; expected one of: {', '.join(PROFILE_NAMES)}"
        value = error.get("ctx", {}).get("tag")
        return Problem(path, message, repr(value) if error["type"] == "union_tag_invalid" else None)
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    value = error.get("input")
    shown = None
    if _secret_place(loc):
        pass  # what stands where a secret belongs is never printed
    elif error["type"] not in ("missing", "url_credentials") and isinstance(
            value, str | int | float | bool):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return Problem(path, message, shown)


def _secret_place(loc: tuple[str | int, ...]) -> bool:
    """A key that holds a secret, or names where one is (``*_env``, ``*_file``)."""
    key = next((str(step).lower() for step in reversed(loc) if isinstance(step, str)), "")
    return key in SECRET_KEYS or key.endswith(("_env", "_file")) or any(
        word in key for word in SECRET_KEYS if len(word) > 3)


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text
