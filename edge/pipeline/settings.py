"""The settings of the pipeline: the site, its machines and which reading times are
believed; and what the pipeline reads of the whole config."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time
from typing import Literal, Protocol

from pydantic import Field, field_validator, model_validator

from contract.materials import DENSITY_G_PER_CM3
from contract.model import COUNTRY_PATTERN, Identifier, StrictModel
from contract.reading import TimeBounds
from contract.schema import known_signal
from gateways.operator_input import OperatorSettings
from gateways.profiles import Source

MachineKind = Literal["printer", "cnc", "laser", "meter", "router", "sensor", "other"]


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
    labour_per_h: float | None = Field(default=None, ge=0)
    """EUR per hour of a person's time, counted over each job's time in the cost per good
    part; unset: labour is left out of the cost (said so beside it)."""
    grid_meter: str | None = None
    """The machine (of kind ``meter``) whose sources measure the whole site at the grid
    connection: quarter-hour demand, the month's peak, the bill (docs/metrics.md, site
    energy); unset: none."""
    material_per_kg: dict[str, float] = Field(default_factory=dict)
    """EUR per kg of each material, e.g. {PLA = 22.0}: the price of what a lot without its
    own ``price_per_kg`` consumes; a material without a price makes the cost unknown."""

    @field_validator("material_per_kg")
    @classmethod
    def _prices(cls, prices: dict[str, float]) -> dict[str, float]:
        for material, price in prices.items():
            if price < 0:
                raise ValueError(f"{material}: a price is 0 or more")
        return {material.upper(): price for material, price in prices.items()}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; expected an IANA name such as "
                             "'Europe/Brussels'") from None
        return name


class PowerThresholds(StrictModel):
    """State from power, for a machine that only has a smart plug."""

    running_w: float = Field(gt=0)
    """At or above this power the machine is running."""
    idle_w: float = Field(default=0.0, ge=0)
    """At or above this (and below running_w) idle; below, stopped."""


Counts = Literal["powered_h", "run_h", "jobs", "good_parts", "kwh", "filament_m", "days"]
COUNTS: tuple[Counts, ...] = ("powered_h", "run_h", "jobs", "good_parts", "kwh",
                              "filament_m", "days")


class Above(StrictModel):
    """A condition on a signal: its last value above a threshold."""

    signal: str
    """A canonical signal the machine reports, e.g. spindle_speed_rpm or laser_power_pct."""
    above: float
    """The counter counts only while the signal's last value is above this."""

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, signal: str) -> str:
        return known_signal(signal)


class Component(StrictModel):
    """A wearing part with its own life and service interval (docs/lifetime.md); the
    machine itself is always the component ``machine``."""

    name: Identifier
    """The part, e.g. hotend, belt, laser_tube, spindle; ``machine`` for the machine."""
    counts: Counts
    """powered_h, run_h, jobs, good_parts, kwh, filament_m or days."""
    service_every: float = Field(gt=0)
    """The service interval, in the unit of ``counts``."""
    warn_at_pct: float = Field(default=10.0, gt=0, lt=100)
    """A warning when this share of the interval is left."""
    initial: float = Field(default=0.0, ge=0)
    """The count at installation, e.g. read off the machine's hour meter."""
    only_materials: list[str] = Field(default_factory=list)
    """Counts only while one of these materials is in the machine (e.g. a filter that
    wears with ABS and ASA); empty: whatever the material."""
    only_while: Above | None = None
    """Counts only while a signal is above a threshold (spindle hours while it turns, tube
    hours above 10 % laser power)."""
    block_jobs: bool = False
    """Overdue, the terminal and the alert say the machine should not start a new job
    (the edge never stops a machine)."""
    device_signal: str | None = None
    """The device keeps its own count of this (a canonical signal in the unit of
    ``counts``, e.g. operating_h): its value is the count, and ``drift`` says how far
    the edge's own is from it."""

    @field_validator("device_signal")
    @classmethod
    def _known_device_signal(cls, signal: str | None) -> str | None:
        return None if signal is None else known_signal(signal)

    @field_validator("only_materials")
    @classmethod
    def _upper(cls, names: list[str]) -> list[str]:
        return [name.upper() if name.upper() in DENSITY_G_PER_CM3 else name for name in names]


class Machine(StrictModel):
    id: Identifier
    """Becomes the ``machine`` tag: letters, digits, ``.``, ``_``, ``-``."""
    kind: MachineKind
    """printer, cnc, laser, meter, router, sensor or other: picks the dashboards' groups."""
    name: str = ""
    """For people: dashboards, terminal, alert messages."""
    location: str = ""
    """Where it stands: a place (``facade``) or the id of the machine it stands beside
    (a sensor: the jobs of that machine get its air fingerprint)."""
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
    rate_per_h: float | None = Field(default=None, ge=0)
    """EUR per hour of the machine's time in a job (depreciation, maintenance, space):
    the machine's part of the cost per good part; unset: that part is unknown."""
    components: list[Component] = Field(default_factory=list)
    """Wearing parts and their service intervals; several entries may share a name with
    different ``counts`` (hours and days: whichever falls due first)."""

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


class PipelineConfig(Protocol):
    """What the pipeline reads of the whole config (edge/service/config.py)."""

    @property
    def site(self) -> Site: ...
    @property
    def machines(self) -> list[Machine]: ...
    @property
    def clock(self) -> ClockSettings: ...
    @property
    def operator(self) -> OperatorSettings: ...
