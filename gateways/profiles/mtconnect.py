"""Machine tools through an MTConnect agent (Haas NGC, Mazak, Okuma, DMG MORI, and
adapters for older controls): ``endpoint = "http://haas.local:8082/"``; the agent's
REST API, polled with its sequence cursor.

The gateway asks ``probe`` once (the devices and their data items), then ``current``,
then ``sample?from=<nextSequence>`` each round. When the agent restarts its
``instanceId`` changes: probe and current again. When the cursor fell out of the agent's
buffer (``OUT_OF_RANGE``, after a long outage) it starts again from ``current``; what
the buffer no longer held is lost at the agent, and the log says how many sequence
numbers. A stream as an agent sends it (MTConnect 1.3)::

    <MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:1.3">
      <Header creationTime="2026-12-02T09:00:05Z" sender="haas" instanceId="1764666000"
              version="1.3.0" bufferSize="131072" nextSequence="1207" firstSequence="1"
              lastSequence="1206"/>
      <Streams><DeviceStream name="VF2" uuid="HAAS-VF2-1234">
        <ComponentStream component="Controller" name="controller" componentId="cn1">
          <Events>
            <ControllerMode dataItemId="mode"
                timestamp="2026-12-02T09:00:00Z" sequence="1200">AUTOMATIC</ControllerMode>
            <Execution dataItemId="exec"
                timestamp="2026-12-02T09:00:01Z" sequence="1201">ACTIVE</Execution>
            <Program dataItemId="pgm"
                timestamp="2026-12-02T09:00:01Z" sequence="1202">O1234</Program>
            <PartCount dataItemId="pc"
                timestamp="2026-12-02T09:00:02Z" sequence="1203">17</PartCount>
            <PathFeedrateOverride dataItemId="fovr"
                timestamp="2026-12-02T09:00:02Z" sequence="1204">100</PathFeedrateOverride>
          </Events>
          <Condition><Normal dataItemId="logic" type="LOGIC_PROGRAM"
              timestamp="2026-12-02T09:00:00Z" sequence="1199"/></Condition>
        </ComponentStream>
        <ComponentStream component="Rotary" name="C" componentId="c1">
          <Samples><RotaryVelocity dataItemId="cs" subType="ACTUAL"
              timestamp="2026-12-02T09:00:03Z" sequence="1205">12000</RotaryVelocity></Samples>
        </ComponentStream>
        <ComponentStream component="Path" name="path" componentId="p1">
          <Samples><PathFeedrate dataItemId="pf" subType="ACTUAL"
              timestamp="2026-12-02T09:00:04Z" sequence="1206">25</PathFeedrate></Samples>
        </ComponentStream>
      </DeviceStream></Streams>
    </MTConnectStreams>

Mapping, by observation (element) name, whatever the data item ids, each at its own
timestamp and in sequence order:

=====================================  ==================================================
``Execution``                          ACTIVE -> running; READY, WAIT, PROGRAM_COMPLETED
                                       -> idle; INTERRUPTED, FEED_HOLD, STOPPED,
                                       OPTIONAL_STOP, PROGRAM_STOPPED -> stopped;
                                       UNAVAILABLE -> offline
``Condition`` ``Fault``                fault, over the execution, until every condition
                                       that was a fault is Normal again
``Program``                            the job's name; a job starts when execution turns
                                       ACTIVE, goes on through INTERRUPTED, FEED_HOLD,
                                       OPTIONAL_STOP, ends good at READY, WAIT or
                                       PROGRAM_COMPLETED, aborted at STOPPED,
                                       PROGRAM_STOPPED, UNAVAILABLE or with a fault
``PartCount``                          ``parts_good`` (subType GOOD, or none: the parts
                                       completed), ``parts_scrap`` (BAD),
                                       ``parts_produced`` (ALL); cumulative
``RotaryVelocity``, ``SpindleSpeed``   ``spindle_speed_rpm`` (subType ACTUAL or none)
``PathFeedrate``                       ``feed_rate_mm_min`` (ACTUAL; mm/s in MTConnect)
``PathFeedrateOverride``               ``feed_override_pct`` (subType PROGRAMMED or none;
                                       RAPID and JOG are the traverse's and the jog's
                                       overrides, not the feed's: left out)
``Availability``                       UNAVAILABLE -> offline; AVAILABLE: the machine
                                       is there, even when nothing changes
``RotaryVelocityOverride``,            ``spindle_override_pct``
``SpindleSpeedOverride``
``ControllerMode``                     not a state: told in the job's context only
=====================================  ==================================================

Values ``UNAVAILABLE`` say the agent does not know: skipped (an ``Execution`` of
UNAVAILABLE is offline). Timestamps are UTC, as the standard has them, also where an
agent passes an adapter's time on without a zone (the NIST test bed's agent does:
``timestamp="2026-12-02T09:00:02.123456"``). An agent reports changes only: while the
device is AVAILABLE and nothing changes, its state is told again every
``HEARTBEAT_S`` (60 s), so a machine that stands still is not taken for silent. With
several devices behind one agent, ``device`` names the one
this machine is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from contract.addresses import url
from contract.eventlog import log_event
from contract.reading import Reading
from gateways.decoding import DecodeError
from gateways.profiles.base import DecoderBase, HttpSourceBase, Profile

if TYPE_CHECKING:
    from contract.counters import Counters
    from gateways.gateway import Gateway, ValueDecoder
    from gateways.transports.http_poll import Fetch

EXECUTION = {"ACTIVE": "running", "READY": "idle", "WAIT": "idle",
             "PROGRAM_COMPLETED": "idle", "INTERRUPTED": "stopped", "FEED_HOLD": "stopped",
             "STOPPED": "stopped", "OPTIONAL_STOP": "stopped", "PROGRAM_STOPPED": "stopped",
             "UNAVAILABLE": "offline"}
PART_COUNTS = {None: "parts_good", "GOOD": "parts_good", "BAD": "parts_scrap",
               "ALL": "parts_produced"}
"""PartCount by subType: without one (MTConnect 1.3), the parts completed."""
SUBTYPES = {"PathFeedrateOverride": (None, "PROGRAMMED")}
"""The subTypes taken per item; ACTUAL or none for the others."""
HEARTBEAT_S = 60
"""How often an AVAILABLE device's unchanged state is told again."""
NUMBERS = {"RotaryVelocity": ("spindle_speed_rpm", 1.0),
           "SpindleSpeed": ("spindle_speed_rpm", 1.0),
           "PathFeedrate": ("feed_rate_mm_min", 60.0),
           "PathFeedrateOverride": ("feed_override_pct", 1.0),
           "RotaryVelocityOverride": ("spindle_override_pct", 1.0),
           "SpindleSpeedOverride": ("spindle_override_pct", 1.0)}
CONDITIONS = ("Normal", "Warning", "Fault", "Unavailable")
PAUSES = frozenset({"INTERRUPTED", "FEED_HOLD", "OPTIONAL_STOP"})
"""Execution states in which a program run goes on afterwards."""
SAMPLE_COUNT = 1000
"""Observations asked for per ``sample`` request."""


class MTConnectSource(HttpSourceBase):
    profile: Literal["mtconnect"]
    endpoint: Annotated[str, AfterValidator(url("http", "https",
                                                 example="http://192.0.2.60:5000"))]
    """The agent, e.g. ``http://haas.local:8082/`` (a path prefix is kept)."""
    device: str | None = None
    """The device's name or uuid, when the agent serves several."""
    poll_interval_s: float = Field(default=1.0, gt=0)
    """How often the agent is asked for what came since the last answer."""

    def decoder(self, site: str, machine: str) -> MTConnectDecoder:
        return MTConnectDecoder(site, machine, self.device)

    def gateway(self, route: str, decoder: ValueDecoder, counters: Counters) -> Gateway:
        from gateways.transports.http_poll import HttpGateway

        return HttpGateway(self, route, decoder, counters, MTConnectPoller(route, self.device))


def _root(document: Any, key: str) -> ElementTree.Element:
    if not isinstance(document, str):
        raise DecodeError(f"{key}: expected an XML document, got {type(document).__name__}")
    try:
        return ElementTree.fromstring(document)
    except ElementTree.ParseError as exc:
        raise DecodeError(f"{key}: not XML: {exc}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


HEADER = re.compile(r"<(?:[\w.-]+:)?Header\b([^>]*)>")
ATTRIBUTE = re.compile(r'([\w:]+)="([^"]*)"')


def _header(body: str) -> dict[str, str]:
    """The document's Header attributes, read off its start: the decoder parses the
    whole document once, the poller only needs the cursor."""
    found = HEADER.search(body[:4000])
    if found is None:
        raise DecodeError("stream: not an MTConnect document (no Header)")
    return dict(ATTRIBUTE.findall(found.group(1)))


class MTConnectPoller:
    """probe once per agent instance, then current, then sample from the cursor."""

    def __init__(self, route: str, device: str | None) -> None:
        self.route, self.device = route, device
        self.instance: str | None = None
        self.next: int | None = None

    async def round(self, fetch: Fetch) -> list[tuple[str, Any]]:
        from gateways.transports.http_poll import HttpRefused

        answers: list[tuple[str, Any]] = []
        where = f"/{self.device}" if self.device else ""
        if self.instance is None:
            answers.append(("probe", await self._get(fetch, f"{where}/probe")))
            self.next = None
        lost_from = None
        if self.next is None:
            body = await self._get(fetch, f"{where}/current")
        else:
            body = await self._get(fetch, f"{where}/sample?from={self.next}&count={SAMPLE_COUNT}")
            if "OUT_OF_RANGE" in body[:2000]:  # the cursor left the agent's buffer
                lost_from = self.next
                body = await self._get(fetch, f"{where}/current")
        try:
            header = _header(body)
        except DecodeError as exc:
            raise HttpRefused(str(exc)) from None
        instance = header.get("instanceId")
        if self.instance is not None and instance != self.instance:  # the agent restarted
            log_event("mtconnect.agent_restarted", route=self.route, instance=instance)
            self.instance = None
            return answers + await self.round(fetch)
        if lost_from is not None:  # what the agent no longer held is lost there
            log_event("mtconnect.out_of_range", route=self.route, asked_from=lost_from,
                      lost=int(header.get("firstSequence", lost_from)) - lost_from)
        self.instance = instance
        self.next = int(header.get("nextSequence", 0)) or None
        answers.append(("stream", body))
        return answers

    async def _get(self, fetch: Fetch, path: str) -> str:
        from gateways.transports.http_poll import HttpRefused

        status, body = await fetch(path)
        if status != 200 and "OUT_OF_RANGE" not in body[:2000]:
            raise HttpRefused(f"{path}: HTTP {status}: {body[:120]!r}")
        return body


class MTConnectDecoder(DecoderBase):
    def __init__(self, site: str, machine: str, device: str | None) -> None:
        super().__init__(site, machine)
        self.device = device
        self.execution = "UNAVAILABLE"
        self.faults: set[str] = set()
        self.program = ""
        self.available = False
        self.told_ns = 0
        """When the state was last told."""

    def decode_value(self, key: str, value: Any, time_ns: int) -> list[Reading]:
        root = _root(value, key)
        if key == "probe":
            return []
        if key != "stream":
            raise DecodeError(f"{key}: expected a probe or a stream document")
        observations = []
        for stream in (e for e in root.iter() if _local(e.tag) == "DeviceStream"):
            if self.device and self.device not in (stream.get("name"), stream.get("uuid")):
                continue
            for element in stream.iter():
                if element.get("sequence") is not None:
                    observations.append(element)
            if not self.device:
                break  # the first device is this machine
        observations.sort(key=lambda e: int(e.get("sequence") or 0))
        readings: list[Reading] = []
        for element in observations:
            readings += self._observed(element, time_ns)
        if readings:
            self.told_ns = time_ns
        elif self.available and time_ns - self.told_ns >= HEARTBEAT_S * 1_000_000_000:
            readings = self._state(time_ns)  # unchanged, and there
            self.told_ns = time_ns
        return readings

    def offline(self, time_ns: int) -> list[Reading]:
        return [self.reading("state", "offline", time_ns)]

    def _observed(self, element: ElementTree.Element, received_ns: int) -> list[Reading]:
        name, text = _local(element.tag), (element.text or "").strip()
        t = _time(element.get("timestamp"), received_ns)
        if name in CONDITIONS:
            item = element.get("dataItemId") or element.get("type") or "?"
            before = bool(self.faults)
            if name == "Fault":
                self.faults.add(item)
            else:
                self.faults.discard(item)
            if before != bool(self.faults):
                return self._state(t)
            return []
        if name == "Availability":
            self.available = text == "AVAILABLE"
            return self._state(t) if self.available else self.offline(t)
        if text == "UNAVAILABLE" and name != "Execution":
            return []
        if name == "Execution":
            if text not in EXECUTION:
                raise DecodeError(f"Execution: {text!r:.30} is not an MTConnect execution "
                                  f"state ({', '.join(EXECUTION)})")
            self.execution = text
            return self._state(t) + self._job(t)
        if name == "Program":
            self.program = text
            if self.job_active and not self.job_name:  # named after its start
                self.job_name = text
                return [self.reading("job_name", text, t)]
            return []
        if name == "PartCount" and element.get("subType") in PART_COUNTS:
            try:
                return [self.reading(PART_COUNTS[element.get("subType")], float(text), t)]
            except ValueError:
                raise DecodeError(f"PartCount: expected a number, got {text!r:.30}") from None
        if name in NUMBERS and element.get("subType") in SUBTYPES.get(name, (None, "ACTUAL")):
            signal, factor = NUMBERS[name]
            try:
                return [self.reading(signal, float(text) * factor, t)]
            except ValueError:
                raise DecodeError(f"{name}: expected a number, got {text!r:.30}") from None
        return []

    def _state(self, t: int) -> list[Reading]:
        state = "fault" if self.faults else EXECUTION.get(self.execution, "idle")
        return [self.reading("state", state, t)]

    def _job(self, t: int) -> list[Reading]:
        if self.execution == "ACTIVE":
            if self.job_active:
                return []
            self.job_name = self.program  # this run's program, or none yet
            return self.job_transition(True, None, "", t)
        if self.job_active is False or self.execution in PAUSES:
            return []
        good = self.execution in ("READY", "WAIT", "PROGRAM_COMPLETED") and not self.faults
        return self.job_transition(False, "good" if good else "aborted", "", t)


def _time(stamp: str | None, fallback: int) -> int:
    if not stamp:
        return fallback
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise DecodeError(f"timestamp {stamp!r:.40}: expected ISO 8601") from None
    if moment.tzinfo is None:  # UTC by the standard, whatever the box's zone
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


PROFILE = Profile(MTConnectSource, fuzz=tuple(
    (key, {"endpoint": "http://127.0.0.1:5000/"}) for key in ("probe", "stream")))
