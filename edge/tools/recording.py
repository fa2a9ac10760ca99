"""``circlemade record`` and ``circlemade replay``: raw traffic to a file, and back through
the same pipeline with the recorded times as the clock.

A recording is JSON lines, one per message as received::

    {"time": "2026-11-22T21:40:31.915123Z", "source": "mqtt", "topic": "tele/plug/SENSOR",
     "payload": "{\\"ENERGY\\": {\\"Total\\": 1.5}}"}
    {"time": "...", "source": "mqtt", "topic": "spBv1.0/...", "payload": "CICZ...",
     "encoding": "base64"}
    {"time": "...", "source": "opcua", "route": "mill-1/umati",
     "node": "Monitoring/Spindle/ActualSpeed", "value": 18004.9}

MQTT messages are recorded as they came; every other transport (OPC UA, Modbus, HTTP)
records each value its gateway read, under its route and key (gateways/gateway.py).

Replay decodes, normalises and computes KPIs exactly as the live service does; time moves
only with the records (KPI ticks every ``TICK_S`` of recorded time), so replaying a file
twice gives the same lines, byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from contract.errors import BadInput
from contract.raw_message import RawMessage
from contract.reading import Reading, iso_time
from edge.pipeline.ingest import Ingest
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.normalise import Normaliser
from edge.service.config import Config
from edge.service.sources import OPERATOR_ROUTE, operator_decoder, routes
from edge.service.wiring import EdgeService, stop_event
from edge.storage.health import Health
from gateways.gateway import CONNECTION_LOST, Tap, ValueDecoder
from gateways.profiles import Decoder
from gateways.profiles.base import MqttSourceBase
from gateways.transports.mqtt_routes import Routes, Subscription

TICK_S = 10
BATCH = 2000


class RecordingError(BadInput):
    """A line of a recording that cannot be replayed; says which line and why."""


def mqtt_record(message: RawMessage) -> bytes:
    entry: dict[str, Any] = {"time": iso_time(message.received_ns), "source": "mqtt",
                             "topic": message.topic}
    try:
        entry["payload"] = message.payload.decode("utf-8")
    except UnicodeDecodeError:
        entry["payload"] = base64.b64encode(message.payload).decode()
        entry["encoding"] = "base64"
    return orjson.dumps(entry)


def value_record(transport: str, route: str, node: str, value: Any, time_ns: int) -> bytes:
    """A value as read: numbers, text, and the JSON documents of HTTP devices as they are."""
    if isinstance(value, datetime):
        value = value.isoformat()
    elif not isinstance(value, bool | int | float | str | list | dict | type(None)):
        value = str(value)
    return orjson.dumps({"time": iso_time(time_ns), "source": transport, "route": route,
                         "node": node, "value": value})


async def record(config: Config, output: Path, duration_s: float | None,
                 stop: asyncio.Event | None = None) -> int:
    """Subscribe as the service does (own client ids) and write every raw message, until
    ``stop`` is set (or SIGINT, SIGTERM, ``duration_s``)."""
    service = EdgeService(config, client_suffix="-recorder")
    raw: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue(256)
    count = 0
    with output.open("wb") as sink:
        def write(line: bytes) -> None:
            nonlocal count
            sink.write(line + b"\n")
            count += 1

        def tap(transport: str, route: str) -> Tap:
            return lambda node, value, t: write(value_record(transport, route, node, value, t))

        for (transport, route), gateway in zip(service.value_routes, service.value_gateways,
                                               strict=True):
            gateway.tap = tap(transport, route)
        tasks = service.gateway_tasks(raw)
        stop = stop or stop_event(duration_s)

        async def drain() -> None:
            while (batch := await raw.get()) is not None:
                for item in batch:
                    if isinstance(item, RawMessage):
                        write(mqtt_record(item))
                sink.flush()  # a line at a time for whoever watches the file

        drainer = asyncio.create_task(drain())
        await stop.wait()
        await service.stop_gateways()
        await asyncio.gather(*tasks)
        await raw.put(None)
        await drainer
    return count


class Replayer:
    def __init__(self, config: Config, memories: dict[str, bytes] | None = None) -> None:
        """``memories``: KPI state to start from (as the service stores it)."""
        machines = {m.id: m for m in config.machines}
        self.decoders: dict[str, Decoder] = {}
        self.values: dict[str, ValueDecoder] = {}
        self.filters: list[tuple[str, str]] = []
        for route, (machine_id, index) in routes(config).items():
            source = machines[machine_id].sources[index]
            if not isinstance(source, MqttSourceBase):
                self.values[route] = source.decoder(config.site.id, machine_id)
            else:
                self.decoders[route] = source.decoder(config.site.id, machine_id)
                self.filters.append((source.topic, route))
        operator = operator_decoder(config)
        if operator is not None:
            self.decoders[OPERATOR_ROUTE] = operator
            self.filters.append((operator.topic, OPERATOR_ROUTE))
        self.health = Health(config.site.id)
        normaliser = Normaliser.for_config(config)
        self.ingest = Ingest(self.decoders, normaliser, self.health,
                             KpiEngine(config, memories))
        self._routes = Routes([Subscription(flt, 0, route) for flt, route in self.filters]).of

    def lines(self, records: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[str]:
        batch: list[RawMessage | Reading] = []
        next_tick = None
        clock = 0
        for number, entry in records:
            time_ns = _time(entry, number)
            if next_tick is None:
                next_tick = (time_ns // (TICK_S * 10**9) + 1) * TICK_S * 10**9
            if time_ns >= next_tick:
                yield from self.ingest.guarded(batch, clock or None)
                batch = []
                yield from self.ingest.tick(next_tick)
                while next_tick <= time_ns:
                    next_tick += TICK_S * 10**9
            clock = max(clock, time_ns)
            batch.extend(self._items(entry, time_ns, number))
            if len(batch) >= BATCH:
                yield from self.ingest.guarded(batch, clock or None)
                batch = []
        yield from self.ingest.guarded(batch, clock or None)
        if clock:
            for lines in self.ingest.flush(clock):  # a replay's last word: drafts too
                yield from lines

    def _items(self, entry: dict[str, Any], time_ns: int, number: int,
               ) -> list[RawMessage | Reading]:
        if entry.get("source", "mqtt") != "mqtt":
            decoder = self.values.get(str(entry.get("route")))
            if decoder is None:
                return []
            if entry.get("node") == CONNECTION_LOST:
                return list(decoder.offline(time_ns))
            try:
                return list(decoder.decode_value(str(entry["node"]), entry.get("value"),
                                                 time_ns))
            except (KeyError, ValueError) as exc:
                raise RecordingError(f"line {number}: {exc}") from None
        topic = entry.get("topic")
        payload = entry.get("payload")
        if not isinstance(topic, str) or not isinstance(payload, str):
            raise RecordingError(f"line {number}: expected 'topic' and 'payload' strings")
        data = (base64.b64decode(payload) if entry.get("encoding") == "base64"
                else payload.encode())
        return [RawMessage(route, topic, data, time_ns) for route in self._routes(topic)]


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as file:
        for number, line in enumerate(file, 1):
            if line.strip():
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise RecordingError(f"{path}:{number}: not JSON: {exc}") from None


def _time(entry: dict[str, Any], number: int) -> int:
    try:
        moment = datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise RecordingError(f"line {number}: 'time' must be ISO 8601") from None
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


async def replay_to_influx(config: Config, lines: Iterator[str]) -> int:
    from edge.storage.influx_write import Preparing
    from edge.storage.sink import InfluxSink
    from edge.storage.stores import make_writer

    writer = make_writer(config.influx)
    if isinstance(writer, Preparing):
        with contextlib.suppress(Exception):
            await writer.prepare()
    import tempfile

    from edge.storage.buffer import DurableBuffer

    health = Health(config.site.id)
    sink = InfluxSink(writer, health, config.influx.batch_size, 0.5, drain_timeout_s=60)
    with tempfile.TemporaryDirectory(prefix="circlemade-replay-") as folder:
        buffer = DurableBuffer(Path(folder) / "replay.sqlite", health)
        await buffer.open()
        stop = asyncio.Event()
        task = asyncio.create_task(sink.run(buffer, stop))
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= config.influx.batch_size:
                await buffer.append(chunk)
                chunk = []
        await buffer.append(chunk)
        stop.set()
        await task
        await buffer.close()
    return int(health.get("sink", "points_written"))


def replay_to_file(config: Config, recording: Path, out: TextIO) -> int:
    count = 0
    for line in Replayer(config).lines(read_records(recording)):
        out.write(line + "\n")
        count += 1
    return count
