"""The edge service: wires gateways -> ingest -> sink in one place and runs them.

Stages are connected by bounded queues of batches. Each stage runs supervised: a task
that fails is logged, counted, shown by ``circlemade status`` and started again. Stopping
runs in data-flow order: gateways disconnect and hand over what they received, ingest
drains, a last health snapshot is queued, and the sink flushes; whatever is still going
at ``stop_timeout_s`` is cancelled (points stay in the buffer, unacknowledged messages
with the broker), so a stop never outlasts systemd's patience.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from contract.eventlog import Throttle, describe, log_event
from contract.materials import DENSITY_G_PER_CM3
from contract.raw_message import RawMessage
from contract.reading import Reading
from contract.secrets import read_secret
from edge.pipeline.ingest import Ingest
from edge.pipeline.kpi.alerts import Alert
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.kpi.memory import FORMAT_VERSION, READS, StateRefused
from edge.pipeline.normalise import Normaliser
from edge.service.config import Config
from edge.service.edge_alerts import KEY, EdgeAlerts
from edge.service.notifier import Notifier
from edge.service.status import status_path, write_status
from edge.service.systemd import notify
from edge.storage.buffer import BufferBlocked, DurableBuffer, Queue
from edge.storage.dead_letters import DeadLetters
from edge.storage.health import Health
from edge.storage.influx_write import LineWriter, Preparing, WriteFailed
from edge.storage.sink import InfluxSink
from edge.storage.stores import make_writer
from gateways.broker import Broker, DeviceRequest
from gateways.gateway import Gateway, Outbox
from gateways.operator_input import OperatorDecoder
from gateways.profiles import Decoder
from gateways.profiles.base import MqttSourceBase
from gateways.transports.mqtt import MqttGateway
from gateways.transports.mqtt_routes import Subscription

if TYPE_CHECKING:
    from edge.terminal.app import Terminal

HELD_MAX = 100_000
"""Lines of the health loop (KPI windows, counters) kept while the buffer's disk is full."""
QUEUE_BATCHES = 256
"""Bound of each inter-stage queue, in batches; a full queue makes the stage upstream wait."""


def stop_event(duration_s: float | None = None) -> asyncio.Event:
    """An event that SIGINT and SIGTERM set, and the clock too after ``duration_s``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    return stop


def routes(config: Config) -> dict[str, tuple[str, int]]:
    """Route name (``machine/profile``, the health ``source``) -> (machine id, source index)."""
    table: dict[str, tuple[str, int]] = {}
    for machine in config.machines:
        for index, source in enumerate(machine.sources):
            name = f"{machine.id}/{source.profile}"
            if name in table:
                name = f"{name}/{index}"
            table[name] = (machine.id, index)
    return table


OPERATOR_ROUTE = "operator"


def operator_decoder(config: Config) -> OperatorDecoder | None:
    """The decoder of operator input (route ``operator``), when it is subscribed to."""
    if not config.operator_input():
        return None
    return OperatorDecoder(config.site.id, {m.id for m in config.machines}, config.operator,
                           set(DENSITY_G_PER_CM3), others=config.others)


def client_id(config: Config, broker: Broker) -> str:
    """The configured id, or one that a config copied to a second box does not share:
    two clients with one id take the persistent session from each other."""
    chosen = broker.client_id or f"circlemade-{config.site.id}-{broker.id}-{socket.gethostname()}"
    return f"{chosen}-shard-{config.shard.replace('/', '-of-')}" if config.shard else chosen


def health_source(index: int, name: str) -> tuple[str, str]:
    """Where a store's sink and queue count in ``edge_health``: the first store's keep
    the names they had before there were several."""
    return ("sink", "buffer") if index == 0 else (f"sink-{name}", f"sink-{name}")


def summary(stores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The status's headline over every store: the queue nearest its bound, the oldest
    outage and last write, every drop (what ``status`` and the edge alerts check)."""
    fullest = max(stores.values(), key=lambda s: s["depth"] / s["max_points"])
    failing = [(s["failing_since_s"], name) for name, s in stores.items()
               if s["failing_since_s"] is not None]
    since, name = min(failing) if failing else (None, "")
    error = stores[name]["last_error"] if name else next(
        (s["last_error"] for s in stores.values() if s["last_error"]), "")
    writes = [s["last_write_s"] for s in stores.values()]
    drops = [s["last_drop_s"] for s in stores.values() if s["last_drop_s"]]
    return {"buffer_depth": fullest["depth"], "buffer_max_points": fullest["max_points"],
            "buffer_dropped": sum(s["dropped"] for s in stores.values()),
            "buffer_last_drop_s": max(drops, default=None),
            "last_write_s": None if None in writes else min(writes),
            "write_failing_since_s": since,
            "last_write_error": f"{name}: {error}" if name and len(stores) > 1 else error,
            "dead_letters": sum(s["dead_letters"] for s in stores.values())}


class EdgeService:
    def __init__(self, config: Config, writer: LineWriter | None = None,
                 client_suffix: str = "", reset_state: bool = False) -> None:
        """``reset_state``: start the KPIs afresh instead of from the stored state."""
        self.config = config
        self.reset_state = reset_state
        self._started_s = time.time()
        self.health = Health(config.site.id)
        self._writers = [writer if writer is not None and index == 0 else make_writer(store)
                         for index, store in enumerate(config.stores())]
        machines = {m.id: m for m in config.machines}
        decoders: dict[str, Decoder] = {}
        subscriptions: dict[str, list[Subscription]] = {b.id: [] for b in config.brokers}
        requests: dict[str, list[DeviceRequest]] = {b.id: [] for b in config.brokers}
        self.value_gateways: list[Gateway] = []
        """One per OPC UA, Modbus or HTTP source: each reads and decodes its values."""
        self.value_routes: list[tuple[str, str]] = []
        """The transport and route of each value gateway, as recorded."""
        for route, (machine_id, index) in routes(config).items():
            source = machines[machine_id].sources[index]
            if not isinstance(source, MqttSourceBase):
                self.value_gateways.append(source.gateway(
                    route, source.decoder(config.site.id, machine_id), self.health))
                self.value_routes.append((source.transport, route))
                continue
            decoders[route] = source.decoder(config.site.id, machine_id)
            qos = source.qos if source.qos is not None else config.broker(source.broker).qos
            subscriptions[source.broker].append(Subscription(source.topic, qos, route))
            requests[source.broker] += source.requests()
        operator = operator_decoder(config)
        if operator is not None:
            decoders[OPERATOR_ROUTE] = operator
            broker = config.broker(config.operator.broker)
            subscriptions[broker.id].append(Subscription(operator.topic, max(broker.qos, 1),
                                                         OPERATOR_ROUTE))
        self.gateways = [
            MqttGateway(broker, client_id(config, broker) + client_suffix,
                        subscriptions[broker.id], self.health, requests[broker.id])
            for broker in config.brokers
            if subscriptions[broker.id]
        ]
        normaliser = Normaliser.for_config(config)
        dead_letters = DeadLetters(config.buffer_path().with_suffix(".deadletters.jsonl"),
                                   self.health)
        self._throttle = Throttle()
        self.crashes: dict[str, tuple[float, str]] = {}
        """Task name -> (when, error) of the last crash of each supervised task."""
        self._ingest = Ingest(decoders, normaliser, self.health, None, dead_letters)
        self._notifier = Notifier(config, self.health) if config.alerts else None
        self._edge_alerts: EdgeAlerts | None = None
        if self._notifier is not None:
            self._ingest.on_alerts = self._notifier.offer
        self._sinks = [
            InfluxSink(writer, self.health, store.batch_size, store.flush_interval_s,
                       store.retry_min_s, store.retry_max_s, config.stop_timeout_s / 2,
                       dead_letters, store.name, health_source(index, store.name)[0])
            for index, (writer, store) in enumerate(zip(self._writers, config.stores(),
                                                        strict=True))]

    def queues(self) -> list[Queue]:
        """The buffer's queues, one per store, with each store's own bounds."""
        settings = self.config.buffer
        return [Queue(store.name, store.measurements, store.max_points or settings.max_points,
                      store.max_age_s or settings.max_age_s, health_source(index, store.name)[1])
                for index, store in enumerate(self.config.stores())]

    async def run(self, stop: asyncio.Event) -> None:
        raw: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue(QUEUE_BATCHES)
        started = time.monotonic()
        self._started_s = time.time()
        buffer = self._buffer()
        await buffer.open()
        try:  # a start error (state refused, the terminal's port taken) leaves no thread
            self._ingest.kpi = await self._restore_kpi(buffer)
            await self._prepare_database()
            terminal = await self._start_terminal()
        except BaseException:
            await buffer.close()
            raise
        notify("READY=1")
        log_event("service.started", site=self.config.site.id, machines=len(self.config.machines),
                  brokers=[g.broker.id for g in self.gateways],
                  sources=[g.name for g in self.value_gateways],
                  stores={s.name: f"{s.api} {s.url}" for s in self.config.stores()})
        gateway_tasks = self.gateway_tasks(raw)
        ingest_task = self._supervised("ingest", lambda: self._ingest.run(raw, buffer))
        sink_stop = asyncio.Event()
        sink_tasks = [self._supervised(f"sink {sink.queue}", partial(sink.run, buffer, sink_stop))
                      for sink in self._sinks]
        health_task = self._supervised("health", lambda: self._report_health(buffer))
        notifier = self._notifier
        alerts_task = (self._supervised("alerts", notifier.run) if notifier is not None
                       else asyncio.create_task(asyncio.sleep(0)))
        await stop.wait()
        log_event("service.stopping", timeout_s=self.config.stop_timeout_s)
        health_task.cancel()
        try:
            async with asyncio.timeout(self.config.stop_timeout_s):
                await self.stop_gateways()
                await asyncio.gather(*gateway_tasks)
                await raw.put(None)
                await ingest_task
                lines = self._ingest.flush(time.time_ns()) + self.health.to_lines()
                await self._ingest.store(buffer, lines, self._ingest.take_state())
                sink_stop.set()
                await asyncio.gather(*sink_tasks)
        except TimeoutError:
            log_event("service.stop_timed_out", logging.WARNING,
                      timeout_s=self.config.stop_timeout_s, left_in_buffer=buffer.depth,
                      action="unwritten points stay in the buffer for the next start; "
                             "unacknowledged messages stay with the broker")
        if terminal is not None:
            await terminal.stop()
        every = [*gateway_tasks, ingest_task, *sink_tasks, health_task, alerts_task]
        for task in every:
            task.cancel()
        await asyncio.gather(*every, return_exceptions=True)
        await buffer.close()
        self._last_status(buffer)
        log_event("service.stopped", uptime_s=round(time.monotonic() - started, 1),
                  counters=self.health.snapshot())

    def _buffer(self) -> DurableBuffer:
        settings = self.config.buffer
        return DurableBuffer(self.config.buffer_path(), self.health,
                             max_bytes=settings.max_bytes,
                             min_free_bytes=settings.min_free_bytes, fsync=settings.fsync,
                             queues=self.queues())

    def _last_status(self, buffer: DurableBuffer) -> None:
        """The last word: stopped, with what the buffer still holds."""
        try:
            write_status(status_path(self.config.buffer_path()),
                         {**self.status(self._started_s, buffer), "stopped_s": time.time()})
        except OSError as exc:
            log_event("status.write_failed", logging.ERROR, error=describe(exc))

    async def _start_terminal(self) -> Terminal | None:
        """The page for the workshop's tablet, on this event loop, when configured."""
        settings, operator = self.config.terminal, operator_decoder(self.config)
        if settings.listen is None or operator is None:
            return None
        from edge.terminal.app import Terminal

        pin = read_secret(settings.pin_env, settings.pin_file)
        assert pin is not None  # the config check requires one
        gateway = next(g for g in self.gateways if g.broker.id == self.config.operator.broker)
        terminal = Terminal(self.config, pin.get_secret_value(), lambda: self._ingest.kpi,
                            operator, gateway.publish)
        await terminal.start(settings.listen)
        return terminal

    async def _restore_kpi(self, buffer: DurableBuffer) -> KpiEngine:
        """The KPI stage as the last run left it (:class:`StateRefused` for a state this
        version cannot read, unless told to start afresh)."""
        version, memories = await buffer.load_state()
        edge_memory = memories.pop(KEY, None)
        if self.reset_state or not (memories or edge_memory):
            if memories:
                log_event("kpi.state_reset", logging.WARNING, path=str(buffer.path),
                          machines=len(memories))
            await buffer.reset_state(str(FORMAT_VERSION))
            self._watch_edge(None)
            return KpiEngine(self.config)
        if version not in READS:
            raise StateRefused(
                f"{buffer.path}: the KPI state stored there is of format {version}, this "
                f"version reads formats {' and '.join(sorted(READS))}; 'circlemade run "
                "--reset-state' starts the KPIs afresh (open jobs and windows are lost)")
        try:
            engine = KpiEngine(self.config, memories)
        except StateRefused as exc:
            raise StateRefused(f"{buffer.path}: {exc}; 'circlemade run --reset-state' starts "
                               "the KPIs afresh (open jobs and windows are lost)") from None
        buffer.state_version = str(FORMAT_VERSION)  # what it writes from now on
        self._watch_edge(edge_memory)
        log_event("kpi.state_restored", machines=len(memories),
                  open_jobs=sum(k.m.jobs.open is not None for k in engine.machines.values()))
        return engine

    def _watch_edge(self, memory: bytes | None) -> None:
        if any(rule.rule == "edge" for rule in self.config.alerts):
            try:
                self._edge_alerts = EdgeAlerts(self.config, memory)
            except StateRefused as exc:
                raise StateRefused(f"{self.config.buffer_path()}: {exc}; 'circlemade run "
                                   "--reset-state' starts the KPIs afresh") from None

    def _supervised(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """A task that restarts ``run`` when it fails: one bug must not stop the service.
        The crash is logged with its traceback, counted and shown by ``status``."""

        async def supervise() -> None:
            delay = 1.0
            while True:
                try:
                    await run()
                    return
                except Exception as exc:
                    self.health.count("service", "task_restarts")
                    self.crashes[name] = (time.time(), describe(exc))
                    log_event("service.task_crashed", logging.ERROR, task=name,
                              error=describe(exc), traceback=traceback.format_exc(),
                              restart_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

        return asyncio.create_task(supervise(), name=name)

    def every_gateway(self) -> list[Gateway]:
        return [*self.gateways, *self.value_gateways]

    def gateway_tasks(self, raw: Outbox) -> list[asyncio.Task[None]]:
        return [self._supervised(g.name, partial(g.run, raw)) for g in self.every_gateway()]

    async def stop_gateways(self) -> None:
        for gateway in self.every_gateway():
            await gateway.stop()

    async def _prepare_database(self) -> None:
        for writer, store in zip(self._writers, self.config.stores(), strict=True):
            if isinstance(writer, Preparing):
                try:
                    await writer.prepare()
                except WriteFailed as exc:  # InfluxDB may come later; the sink retries
                    log_event("sink.database_not_ready", sink=store.name, error=str(exc))

    async def _report_health(self, buffer: DurableBuffer) -> None:
        started = self._started_s
        path = status_path(self.config.buffer_path())
        held: list[str] = []
        state: dict[str, bytes] = {}
        raised: list[Alert] = []
        edge, notifier = self._edge_alerts, self._notifier
        while True:
            await asyncio.sleep(self.config.health_interval_s)
            notify("WATCHDOG=1")  # from the loop itself: a stuck loop stops the pings
            status = self.status(started, buffer)
            try:
                await asyncio.to_thread(write_status, path, status)
            except OSError as exc:
                self._throttle.event("status", "status.write_failed", logging.ERROR,
                                     path=str(path), error=describe(exc))
            now_ns = time.time_ns()
            held += self._ingest.tick(now_ns, partial=True) + self.health.to_lines()
            state = {**state, **self._ingest.take_state()}
            if edge is not None:
                found = edge.check(status, now_ns)
                raised += found
                held += self._ingest.derived(edge.points(found))
                state.update(edge.take_state())
            try:
                await buffer.append(held, state)
                held, state = [], {}
                self._ingest.pass_alerts()
                if notifier is not None and raised:
                    notifier.offer(raised)
                raised = []
            except BufferBlocked:  # kept for the next turn: this loop must go on ticking
                del held[:-HELD_MAX]
            letters = self._ingest.dead_letters
            if letters is not None and letters.pending:  # waiting for a writable disk
                await asyncio.to_thread(letters.flush)

    def status(self, started_s: float, buffer: DurableBuffer) -> dict[str, Any]:
        sources: dict[str, dict[str, Any]] = {
            source: dict(fields) for source, fields in self.health.snapshot().items()}
        for gateway in self.every_gateway():
            sources.setdefault(gateway.status_key, {})["connected"] = gateway.connected.is_set()
        stores = {}
        for sink, store in zip(self._sinks, self.config.stores(), strict=True):
            counters = sources.pop(sink.source, {})
            queue = buffer.queues[sink.queue]
            stores[sink.queue] = {
                "url": store.url, "depth": queue.depth, "max_points": queue.max_points,
                "dropped": self.health.get(queue.health_source, "buffer_dropped"),
                "last_drop_s": queue.last_drop_s,
                "last_write_s": counters.get("last_write_s"),
                "points_written": counters.get("points_written", 0),
                "failing_since_s": sink.failing_since_s, "last_error": sink.last_error,
                "refused": sink.refused,
                "dead_letters": counters.get("dead_letters", 0)}
        for own in ("buffer", "service", "ingest", "dead_letters"):
            sources.pop(own, None)
        return {"pid": os.getpid(), "written_s": time.time(), "uptime_s": time.time() - started_s,
                **summary(stores), "buffer_full": self._ingest.full, "sinks": stores,
                "crashes": {name: {"at_s": at, "error": error}
                            for name, (at, error) in self.crashes.items()},
                "sources": sources}
