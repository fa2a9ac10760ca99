"""The settings of the KPI stage: the calendar of planned time and the alert rules; and
what the KPI stage reads of the whole config."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal, Protocol, Self

from pydantic import Field, field_validator, model_validator

from contract.model import CPC_PATTERN, StrictModel
from contract.schema import known_signal
from edge.pipeline.kpi.grid_settings import GridSettings
from edge.pipeline.kpi.neighbour_settings import NeighbourSettings
from edge.pipeline.kpi.readiness import ReadinessSettings
from edge.pipeline.kpi.rules import RULE_NAMES, SENSOR_RULES, SITE_RULES, needs
from edge.pipeline.kpi.tariffs import Tariff
from edge.pipeline.settings import Machine, MachineKind, PipelineConfig

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
    """fault, silent, standby, stopped (a module each in edge/pipeline/kpi/rules/), edge,
    job_done, peak, noise or air (docs/alerts.md)."""
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
    margin_db: float = Field(default=3.0, ge=0, le=30)
    """noise: it fires when the sliding hour comes within this of the period's limit."""
    signal: str = "pm2_5_ugm3"
    """air: the sensor's signal it watches (pm2_5_ugm3, particles_03_per_dl, voc_index,
    pm10_ugm3, co2_ppm ...)."""
    above: float | None = None
    """air: the value of ``signal`` it fires above (held for after_min)."""
    above_kw: float | None = Field(default=None, gt=0)
    """peak: the quarter's average demand it warns above (default: this month's peak so
    far, at least ``[grid] minimum_peak_kw``)."""
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
        if rule not in RULE_NAMES:
            *first, last = (repr(name) for name in RULE_NAMES)
            raise ValueError(f"Input should be {', '.join(first)} or {last}")
        return rule

    @field_validator("signal")
    @classmethod
    def _air_signal(cls, signal: str) -> str:
        return known_signal(signal)

    @model_validator(mode="after")
    def _parameters(self) -> AlertRule:
        for name, why in needs(self.rule).items():
            if getattr(self, name) is None:
                raise ValueError(f"{name}: the {self.rule} rule needs {why}")
        if self.rule in ("edge", *SITE_RULES) and (self.machines != ["*"]
                                                   or self.kind is not None):
            watched = "the edge itself" if self.rule == "edge" else "the site's grid meter"
            raise ValueError(f"machines, kind: the {self.rule} rule watches {watched}, not "
                             "machines")
        return self

    def watches(self, machine: Machine) -> bool:
        """A machine rule (edge/pipeline/kpi/rules/) that watches this machine."""
        return self.rule not in ("edge", *SITE_RULES, *SENSOR_RULES) and self.selects(machine)

    def selects(self, machine: Machine) -> bool:
        return ("*" in self.machines or machine.id in self.machines) and (
            self.kind is None or machine.kind == self.kind)


class Product(StrictModel):
    """The jobs that make one product, for reports and product footprints; what a good
    part of it may cost."""

    name: str = Field(min_length=1)
    """How reports name it (and batches: their ``product``)."""
    cpc: str = Field(default="369", pattern=CPC_PATTERN)
    """Its UN CPC class, for the PACT footprint (default 369: other plastics products)."""
    jobs: list[str] = Field(default_factory=list)
    """Patterns of job names (``*`` and ``?``, as in file names), e.g. ``["bracket*"]``;
    a job matching none is its own product (its name without the file extension)."""
    cost_target: float | None = Field(default=None, gt=0)
    """EUR per good part its last batches stay within to be ready for a series; unset:
    the readiness card has no cost criterion."""


class KpiConfig(PipelineConfig, Protocol):
    """What the KPI stage reads of the whole config (edge/service/config.py)."""

    @property
    def calendar(self) -> Calendar: ...
    @property
    def alerts(self) -> list[AlertRule]: ...
    @property
    def products(self) -> list[Product]: ...
    @property
    def tariffs(self) -> list[Tariff]: ...
    @property
    def readiness(self) -> ReadinessSettings: ...
    @property
    def grid(self) -> GridSettings: ...
    @property
    def neighbours(self) -> NeighbourSettings: ...
