"""The configuration: one TOML file, validated by pydantic, secrets from env or files.
Each room keeps its part (edge/storage/settings.py, edge/pipeline/settings.py,
edge/pipeline/kpi/settings.py, edge/terminal/settings.py); this one assembles them, with
the service's own settings and the checks across parts.

Errors name the file, the dotted field path (``machines[2].sources[0].topic``), the bad
value and what was expected, so that a person can fix the file without reading code.
``circlemade example-config`` prints every field, documented.
"""

from __future__ import annotations

import hashlib
import os
import string
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from contract.model import (
    SHARD_PATTERN,
    Identifier,
    PositiveSeconds,
    StrictModel,
)
from contract.secrets import SecretUnavailable, read_secret
from edge.pipeline.kpi.grid_settings import GridSettings
from edge.pipeline.kpi.neighbour_settings import NeighbourSettings
from edge.pipeline.kpi.readiness import ReadinessSettings
from edge.pipeline.kpi.settings import AlertRule, Calendar, Product
from edge.pipeline.kpi.tariffs import Tariff
from edge.pipeline.settings import ClockSettings, Machine, Site
from edge.service.config_problems import ConfigError, Problem, literal_secrets, problem_of
from edge.storage.settings import BufferSettings, Influx
from edge.terminal.settings import TerminalSettings, pin_refused
from gateways.broker import Broker
from gateways.operator_input import OperatorSettings
from gateways.profiles.base import MqttSourceBase


class StatusSettings(StrictModel):
    """When ``circlemade status`` says something is wrong (exit 1)."""

    max_write_failure_s: float = Field(default=300.0, gt=0)
    """Writes to InfluxDB failing for longer than this."""
    max_buffer_share: float = Field(default=0.8, gt=0, le=1)
    """The buffer holding more than this share of max_points."""
    dropped_within_s: float = Field(default=3600.0, gt=0)
    """Points dropped (past a buffer bound) within this long."""


class LogSettings(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    """debug, info, warning or error."""
    format: Literal["json", "text"] = "json"
    """json: one object per line, for machines (journald, Loki); text: for people."""


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
    """Products by job name, for the monthly report (docs/report.md), and their cost
    targets (docs/metrics.md, series readiness)."""
    tariffs: list[Tariff] = Field(default_factory=list)
    """Energy prices by time band, for the cost per good part (docs/metrics.md); the
    first band that holds an instant prices it."""
    readiness: ReadinessSettings = Field(default_factory=ReadinessSettings)
    neighbours: NeighbourSettings = Field(default_factory=NeighbourSettings)
    """Noise limits by period and air limits (docs/metrics.md, neighbours)."""
    grid: GridSettings = Field(default_factory=GridSettings)
    """The grid connection's capacity and injection prices, for ``[site] grid_meter``
    (docs/metrics.md, site energy)."""
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    shard: str | None = Field(default=None, pattern=SHARD_PATTERN)
    """``k/N``: this instance runs the k-th of N shares of the machines (by a stable hash
    of their ids), for a workshop that outgrows one edge process; every instance gets
    the same file (docs/design.md, sharding). Unset: all of them."""
    _others: frozenset[str] = PrivateAttr(default=frozenset())
    health_interval_s: PositiveSeconds = 10.0
    """How often health counters are written to ``edge_health``, the status file is
    updated and time-driven KPIs and alerts are checked (more than 100 machines: a part
    of them at a time, spread over the interval)."""
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
    problems = list(literal_secrets(raw, ""))
    if problems:
        raise ConfigError(source, problems)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [problem_of(error) for error in exc.errors()]) from None
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
    yield from _grid_meter(config)
    for a, alert in enumerate(config.alerts):
        for unknown in sorted(set(alert.machines) - machine_ids - {"*"}):
            yield Problem(f"alerts[{a}].machines", "no machine with this id", repr(unknown))
        yield from _notify_targets(f"alerts[{a}]", alert, environ, secrets)
    terminal = config.terminal
    if terminal.listen is not None:
        if terminal.pin_env is None and terminal.pin_file is None:
            yield Problem("terminal.pin_env", "the terminal needs a PIN: pin_env or pin_file")
        yield from _secret("terminal.pin", terminal.pin_env, terminal.pin_file, environ,
                           secrets, pin_refused)
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


def _grid_meter(config: Config) -> Iterator[Problem]:
    meter = config.site.grid_meter
    kinds = {m.id: m.kind for m in config.machines}
    if meter is not None and kinds.get(meter) != "meter":
        why = "no machine with this id" if meter not in kinds else \
            f"machine {meter!r} is of kind {kinds[meter]}, not meter"
        yield Problem("site.grid_meter", f"{why}: it names the meter of the whole site",
                      repr(meter))
    for a, alert in enumerate(config.alerts):
        if alert.rule == "peak" and meter is None:
            yield Problem(f"alerts[{a}].rule", "the peak rule watches the grid meter: set "
                          "[site] grid_meter")


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


