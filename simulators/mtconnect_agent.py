"""A simulated MTConnect agent in front of a simulated mill: ``probe``, ``current`` and
``sample?from=&count=`` answered as MTConnect 1.3 agents do (Header with instanceId and
the sequence window, observations with their sequence numbers and timestamps), a ring
buffer of ``buffer_size`` observations (``OUT_OF_RANGE`` for a cursor that fell out of
it), and a new ``instanceId`` after a restart.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from simulators.cnc import SimulatedCnc
from simulators.http_device import HttpDevice
from simulators.mqtt_publisher import Message

NS = "urn:mtconnect.org:MTConnectStreams:1.3"
ITEMS = {  # data item id -> (component, category, element, attributes)
    "exec": ("Controller", "Events", "Execution", ""),
    "mode": ("Controller", "Events", "ControllerMode", ""),
    "pgm": ("Controller", "Events", "Program", ""),
    "pc": ("Controller", "Events", "PartCount", ""),
    "pcbad": ("Controller", "Events", "PartCount", ' subType="BAD"'),
    "fovr": ("Controller", "Events", "PathFeedrateOverride", ""),
    "system": ("Controller", "Condition", "", ' type="SYSTEM"'),
    "cs": ("Rotary", "Samples", "RotaryVelocity", ' subType="ACTUAL"'),
}


class MTConnectAgent(HttpDevice):
    profile = "mtconnect"

    def __init__(self, cnc: SimulatedCnc, port: int, device: str = "VF2",
                 buffer_size: int = 4096) -> None:
        super().__init__(port)
        self.cnc, self.device, self.buffer_size = cnc, device, buffer_size
        self._restart()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def source(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "profile": "mtconnect", "poll_interval_s": 1.0}

    def messages(self, now_s: float) -> list[Message]:
        self.observe()
        return []

    def _restart(self) -> None:
        self.instance = int(time.time() * 1000) % 2_000_000_000
        self.buffer: deque[tuple[int, str, str, str]] = deque(maxlen=self.buffer_size)
        self.next_sequence = 1
        self.latest: dict[str, tuple[int, str, str, str]] = {}
        self.observe()

    def observe(self) -> None:
        """Observations for what changed in the mill since the last call."""
        cnc = self.cnc
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        values = {"exec": "STOPPED" if cnc.execution == "ALARM" else cnc.execution,
                  "mode": "AUTOMATIC" if cnc.operation_mode == "Automatic" else "MANUAL",
                  "pgm": cnc.program or "UNAVAILABLE", "pc": str(cnc.parts_good),
                  "pcbad": str(cnc.parts_scrap),
                  "fovr": f"{cnc.feed_override_pct:g}", "cs": f"{cnc.spindle_rpm:.1f}",
                  "system": cnc.alarm_text or ""}
        for item, value in values.items():
            if item in self.latest and self.latest[item][3] == value:
                continue
            observation = (self.next_sequence, item, now, value)
            self.next_sequence += 1
            self.buffer.append(observation)
            self.latest[item] = observation

    def routes(self, app: web.Application) -> None:
        for prefix in ("", f"/{self.device}"):
            app.router.add_get(f"{prefix}/probe", self._probe)
            app.router.add_get(f"{prefix}/current", self._current)
            app.router.add_get(f"{prefix}/sample", self._sample)

    async def restart(self) -> None:
        """The agent process restarted: a new instance, its buffer empty."""
        await self.stop()
        self._restart()
        await self.start()

    def _header(self, next_sequence: int) -> str:
        first = self.buffer[0][0] if self.buffer else self.next_sequence
        return (f'<Header creationTime="{datetime.now(UTC).isoformat()}" sender="sim" '
                f'instanceId="{self.instance}" version="1.3.0" '
                f'bufferSize="{self.buffer_size}" nextSequence="{next_sequence}" '
                f'firstSequence="{first}" lastSequence="{self.next_sequence - 1}"/>')

    async def _probe(self, request: web.Request) -> web.Response:
        items = "".join(f'<DataItem id="{i}" category="{c.upper().rstrip("S")}" '
                        f'type="{e or "SYSTEM"}"/>' for i, (_, c, e, _a) in ITEMS.items())
        body = (f'<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:1.3">'
                f"{self._header(self.next_sequence)}<Devices>"
                f'<Device id="d1" name="{self.device}" uuid="SIM-{self.device}">'
                f"<DataItems>{items}</DataItems></Device></Devices></MTConnectDevices>")
        return web.Response(text=body, content_type="application/xml")

    async def _current(self, request: web.Request) -> web.Response:
        return self._streams(sorted(self.latest.values()), self.next_sequence)

    async def _sample(self, request: web.Request) -> web.Response:
        start = int(request.query.get("from", "1"))
        count = int(request.query.get("count", "100"))
        first = self.buffer[0][0] if self.buffer else self.next_sequence
        if start < first:
            return web.Response(status=400, content_type="application/xml", text=(
                '<MTConnectError xmlns="urn:mtconnect.org:MTConnectError:1.3">'
                f'{self._header(self.next_sequence)}<Errors><Error errorCode="OUT_OF_RANGE">'
                f"'from' must be greater than {first - 1}</Error></Errors></MTConnectError>"))
        chosen = [o for o in self.buffer if o[0] >= start][:count]
        return self._streams(chosen, chosen[-1][0] + 1 if chosen else self.next_sequence)

    def _streams(self, observations: list[tuple[int, str, str, str]],
                 next_sequence: int) -> web.Response:
        parts: dict[tuple[str, str], list[str]] = {}
        for sequence, item, stamp, value in observations:
            component, category, element, attributes = ITEMS[item]
            if category == "Condition":
                tag = "Fault" if value else "Normal"
                text = f' nativeCode="1">{escape(value)}</Fault>' if value else "/>"
                entry = (f'<{tag} dataItemId="{item}"{attributes} timestamp="{stamp}" '
                         f'sequence="{sequence}"{text}')
            else:
                entry = (f'<{element} dataItemId="{item}"{attributes} timestamp="{stamp}" '
                         f'sequence="{sequence}">{escape(value)}</{element}>')
            parts.setdefault((component, category), []).append(entry)
        components: dict[str, str] = {}
        for (component, category), entries in parts.items():
            components[component] = components.get(component, "") + (
                f"<{category}>{''.join(entries)}</{category}>")
        streams = "".join(f'<ComponentStream component="{c}" name="{c.lower()}" '
                          f'componentId="{c.lower()}1">{body}</ComponentStream>'
                          for c, body in components.items())
        body = (f'<MTConnectStreams xmlns="{NS}">{self._header(next_sequence)}<Streams>'
                f'<DeviceStream name="{self.device}" uuid="SIM-{self.device}">{streams}'
                f"</DeviceStream></Streams></MTConnectStreams>")
        return web.Response(text=body, content_type="application/xml")
