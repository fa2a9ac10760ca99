"""What every payload profile provides: a source model for the config and a decoder.

A profile module holds, side by side, the pydantic model of its part of the config (a
subclass of :class:`MqttSourceBase` whose ``profile`` field is a Literal of its name), the
decoder that turns one message into readings, and a docstring with a real payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, Self

import orjson
from pydantic import AfterValidator, Field, field_validator, model_validator

from contract.machine_state import MachineState
from contract.model import Identifier, StrictModel
from contract.reading import Reading
from contract.schema import SIGNALS, known_signal
from contract.units import UnitError, converter
from gateways.broker import Broker, DeviceRequest, Qos
from gateways.decoding import DecodeError
from gateways.mqtt_topic import check_topic_filter

if TYPE_CHECKING:
    from contract.counters import Counters
    from gateways.gateway import Gateway, ValueDecoder

TopicFilter = Annotated[str, AfterValidator(check_topic_filter)]


def json_object(payload: bytes) -> dict[str, Any]:
    """The payload as a JSON object, or a DecodeError saying what it was instead."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DecodeError(f"expected a JSON object, got {type(document).__name__}")
    return document


_tuple_new = tuple.__new__
_NUMBERS = (int, float)  # a tuple: ``int | float`` builds a union at every call


def json_document(value: Any, key: str) -> dict[str, Any]:
    """A polled device's answer (text, or already parsed in a recording) as a JSON
    object; ``key`` names the document in the error."""
    try:
        document = orjson.loads(value) if isinstance(value, str | bytes) else value
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{key}: not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DecodeError(f"{key}: expected a JSON object, got {type(document).__name__}")
    return document


def as_number(value: Any, *where: str) -> float:
    """Numbers, booleans and numeric strings as float; DecodeError for anything else.
    ``where`` is the value's place in pieces, joined only for the error: this runs for
    every value of every message."""
    if isinstance(value, _NUMBERS):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise DecodeError(f"{''.join(where)}: expected a number, got {value!r:.40}")


LATEST_UNIX_S = 7_258_118_400
"""2200-01-01: past it a number is not a unix time in seconds (milliseconds, most likely).
Which times are believed is the edge's call (``[clock]`` in the config); this bound only
keeps what a decoder makes of a number sane."""


def seconds_to_ns(stamp: Any, fallback_ns: int, where: str = "timestamp") -> int:
    """A unix time in (fractional) seconds as ns, rounded to the microsecond (a float of
    seconds carries no more); ``fallback_ns`` when ``stamp`` is not a number."""
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        if not 0 <= stamp <= LATEST_UNIX_S:  # NaN fails this too
            raise DecodeError(f"{where}: {stamp!r:.30} is not a unix time in seconds "
                              "(1970 to 2200)")
        return round(stamp * 1_000_000) * 1000
    return fallback_ns


class DecoderBase:
    """Readings for one machine (and meter), and job start/end from a state sequence.

    Whether a job is open is the KPI stage's to decide (its memory is checkpointed with
    the buffer): a decoder only turns what the device says into edges. ``job_active``
    is what the device said last, ``None`` until it has said anything since this
    decoder was made, so that after a restart the device's first word is passed on (a
    print that ended while the edge was away still ends the job the KPI stage kept)."""

    def __init__(self, site: str, machine: str, meter: str | None = None) -> None:
        self.site, self.machine, self.meter = site, machine, meter
        self.job_active: bool | None = None
        self.job_name = ""

    def reading(self, signal: str, value: float | str, time_ns: int,
                unit: str | None = None) -> Reading:
        # the tuple made directly: a NamedTuple's own __new__ is a Python function, and
        # this runs for every value of every message
        return _tuple_new(Reading, (self.site, self.machine, signal, value, unit, time_ns,
                                    self.meter))

    def job_transition(self, active: bool, outcome: str | None, name: str,
                       time_ns: int) -> list[Reading]:
        """``job_event`` readings when a job starts (``active`` turns true) or ends
        (``outcome`` given unless the device already said it had ended)."""
        events: list[Reading] = []
        if name:
            self.job_name = name
        if active and self.job_active is not True:
            self.job_active = True
            events.append(self.reading("job_event", "start", time_ns))
        elif outcome is not None and self.job_active is not False:
            self.job_active = False
            events += [self.reading("job_event", "end", time_ns),
                       self.reading("job_outcome", outcome, time_ns)]
        if events and self.job_name:  # the name first: it belongs to the job that starts
            events.insert(0, self.reading("job_name", self.job_name, time_ns))
        return events


class Decoder(Protocol):
    def decode(self, topic: str, payload: bytes, received_ns: int) -> list[Reading]:
        """Readings of one message; raises :class:`DecodeError` on a bad payload."""
        ...


class SignalMapping(StrictModel):
    """Where a device value goes: a canonical signal, the unit the device sends it in (the
    canonical one if absent), and for ``signal = "state"`` the device's state names mapped
    to canonical states."""

    signal: str
    """The canonical signal it feeds (docs/schema.md)."""
    unit: str | None = None
    """The unit the device sends (e.g. "Wh", "degF"); the signal's own if unset."""
    states: dict[str, MachineState] | None = None
    """signal = "state": the device's values mapped to canonical states."""

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, signal: str) -> str:
        return known_signal(signal)

    @model_validator(mode="after")
    def _unit_fits_signal(self) -> Self:
        spec = SIGNALS[self.signal]
        if spec.field.type == "string":
            if self.unit is not None:
                raise ValueError(f"signal {self.signal!r} is text and takes no unit")
        elif self.states is not None:
            raise ValueError("'states' is only for signal 'state'")
        elif self.unit is not None:
            try:
                converter(self.unit, spec.unit)
            except UnitError as exc:
                raise ValueError(f"unit {self.unit!r}: {exc} (signal {self.signal!r} is in "
                                 f"{spec.unit or 'plain numbers'})") from None
        return self


def canonical_state(value: Any, states: dict[str, MachineState] | None, where: str) -> str:
    """A device's state as a canonical one: mapped, or already canonical by name."""
    key = str(value)
    if states and key in states:
        return states[key].value
    try:
        return MachineState(key.lower()).value
    except ValueError:
        known = ", ".join(sorted(states)) if states else "canonical state names"
        raise DecodeError(f"{where}: unknown state {key!r:.40}; mapped are {known}") from None


class MqttSourceBase(StrictModel):
    """An MQTT subscription that feeds one machine, decoded by one profile."""

    profile: str
    """Each profile's model narrows it to a Literal of its name."""
    broker: Identifier = "main"
    """Which ``[[brokers]]`` entry it comes over."""
    topic: TopicFilter
    """MQTT topic filter (+ and # allowed)."""
    qos: Qos | None = None
    """Overrides the broker's qos for this subscription (0 or 1)."""
    meter: Identifier | None = None
    """Meter id for energy readings (the ``meter`` tag); the machine id when not given."""

    def decoder(self, site: str, machine: str) -> Decoder:
        raise NotImplementedError(f"profile {type(self).__name__} has no decoder")

    def requests(self) -> list[DeviceRequest]:
        """What the gateway asks the device for (none: most devices just publish)."""
        return []

    def problems(self, broker: Broker) -> list[tuple[str, str]]:
        """(field, what is wrong) with this source on ``broker``, beyond its own fields:
        what the device really needs (check-config names them)."""
        return []

    @classmethod
    def machine_from_topic(cls, topic: str) -> str | None:
        """The device's own id in a topic, for ``circlemade decode`` without --machine."""
        return None


class ValueSourceBase(StrictModel):
    """A source whose gateway reads values itself (OPC UA, Modbus, HTTP), one per source;
    see gateways/gateway.py."""

    transport: ClassVar[str]
    """The transport's name, as recorded (``"source"`` of a recording's line)."""
    profile: str

    def decoder(self, site: str, machine: str) -> ValueDecoder:
        raise NotImplementedError

    def secrets(self) -> list[tuple[str, str | None, Path | None]]:
        """(field, environment variable, file) of each secret it needs, for check-config."""
        return []

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        raise NotImplementedError


class HttpSourceBase(ValueSourceBase):
    """A device polled over HTTP (gateways/transports/http_poll.py): how long it may take
    to answer and how the gateway backs off when it is gone; its profile adds where it
    answers and how often it is asked (``endpoint``, ``poll_interval_s``)."""

    transport: ClassVar[str] = "http"
    timeout_s: float = Field(default=5.0, gt=0)
    """Per request; three rounds without an answer take the device offline."""
    reconnect_min_s: float = Field(default=1.0, gt=0)
    """Backoff after the device went away, doubling up to reconnect_max_s."""
    reconnect_max_s: float = Field(default=30.0, gt=0)
    """The backoff's cap."""

    def session_options(self) -> dict[str, Any]:
        """Headers, middlewares or a TLS connector for the session; none by default."""
        return {}


@dataclass(frozen=True)
class Profile:
    """A payload profile's one registration, declared in its module as ``PROFILE``: the
    config's union of sources, ``circlemade decode``, docs/profiles/ and the fuzz tests
    are derived from the modules that declare one (gateways/profiles/__init__.py)."""

    model: type[MqttSourceBase] | type[ValueSourceBase]
    fuzz: tuple[tuple[str, dict[str, Any]], ...]
    """What the fuzz test throws any payload at: (a topic, or a value source's key; the
    source's config entry without ``profile``). At least one: no profile goes unfuzzed."""

    def __post_init__(self) -> None:
        if not self.fuzz:
            raise ValueError(f"{self.model.__name__}: a profile declares what to fuzz")

    @property
    def name(self) -> str:
        return str(self.model.model_fields["profile"].annotation.__args__[0])  # type: ignore[union-attr]

    @property
    def module(self) -> str:
        return self.model.__module__


class PlugSourceBase(MqttSourceBase):
    """A smart plug or meter in front of a machine (Tasmota, Shelly)."""

    channel: int = Field(default=0, ge=0, le=7)
    """Which relay or switch of a multi-channel device."""
    offline_state: bool = True
    """A plug that goes offline or switches off marks the machine offline; false when the
    machine reports its own state."""


class PlugDecoder(DecoderBase):
    def __init__(self, source: PlugSourceBase, site: str, machine: str) -> None:
        super().__init__(site, machine, source.meter)
        self.channel = source.channel
        self._offline_state = source.offline_state

    def offline(self, time_ns: int) -> list[Reading]:
        return [self.reading("state", "offline", time_ns)] if self._offline_state else []
