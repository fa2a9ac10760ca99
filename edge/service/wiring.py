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
import itertools
import logging
import signal
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.eventlog import Throttle, describe, log_event
from contract.raw_message import RawMessage
from contract.reading import Reading
from contract.secrets import read_secret
from edge.pipeline.ingest import Ingest
from edge.pipeline.kpi.alerts import Alert
from edge.pipeline.normalise import Normaliser
from edge.service.config import Config
from edge.service.edge_alerts import EdgeAlerts
from edge.service.notifier import Notifier
from edge.service.restore import restore
from edge.service.sources import Sources, operator_decoder
from edge.service.status import service_status, status_path, write_status
from edge.service.supervisor import Supervisor
from edge.service.systemd import notify
from edge.storage.buffer import BufferBlocked, DurableBuffer, Queue
from edge.storage.dead_letters import DeadLetters
from edge.storage.health import Health
from edge.storage.influx_write import LineWriter, Preparing, WriteFailed
from edge.storage.sink import InfluxSink
from edge.storage.stores import STORES, make_writer
from gateways.gateway import Gateway, Outbox

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


def health_source(index: int, name: str) -> tuple[str, str]:
    """Where a store's sink and queue count in ``edge_health``: the first store's keep
    the names they had before there were several."""
    return ("sink", "buffer") if index == 0 else (f"sink-{name}", f"sink-{name}")


MACHINES_PER_TICK = 100
"""Machines ticked in one turn of the health loop: their drafts and KPI memory are one
commit, and a thousand at once held up the live messages behind them (bench/README.md,
the Pi 4 core)."""


def tick_parts(machines: int) -> int:
    """In how many parts the machines are ticked over ``health_interval_s`` (at most 10:
    each machine's drafts still every interval)."""
    return min(10, max(1, -(-machines // MACHINES_PER_TICK)))


async def write_status_file(status: dict[str, Any], path: Path, throttle: Throttle,
                            letters: DeadLetters | None) -> None:
    """The status file (``circlemade status`` reads it); then the dead letters that
    waited for a writable disk."""
    try:
        await asyncio.to_thread(write_status, path, status)
    except OSError as exc:
        throttle.event("status", "status.write_failed", logging.ERROR, path=str(path),
                       error=describe(exc))
    if letters is not None and letters.pending:
        await asyncio.to_thread(letters.flush)


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
        sources = Sources(config, self.health, client_suffix)
        self.gateways, self.value_gateways = sources.mqtt, sources.values
        self.value_routes = sources.value_routes
        """The transport and route of each value gateway, as recorded."""
        normaliser = Normaliser.for_config(config)
        dead_letters = DeadLetters(config.buffer_path().with_suffix(".deadletters.jsonl"),
                                   self.health)
        self._throttle = Throttle()
        self._supervisor = Supervisor(self.health)
        self._ingest = Ingest(sources.decoders, normaliser, self.health, None, dead_letters)
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
                      store.max_age_s or settings.max_age_s, health_source(index, store.name)[1],
                      mark_drafts=STORES[store.api].marks_drafts)
                for index, store in enumerate(self.config.stores())]

    async def run(self, stop: asyncio.Event) -> None:
        raw: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue(QUEUE_BATCHES)
        started = time.monotonic()
        self._started_s = time.time()
        buffer = self._buffer()
        await buffer.open()
        try:  # a start error (state refused, the terminal's port taken) leaves no thread
            self._ingest.kpi, self._edge_alerts = await restore(self.config, buffer,
                                                                self.reset_state)
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
        ingest_task = self._supervisor.start("ingest", lambda: self._ingest.run(raw, buffer))
        sink_stop = asyncio.Event()
        sink_tasks = [self._supervisor.start(f"sink {sink.queue}",
                                             partial(sink.run, buffer, sink_stop))
                      for sink in self._sinks]
        health_task = self._supervisor.start("health", lambda: self._report_health(buffer))
        notifier = self._notifier
        alerts_task = (self._supervisor.start("alerts", notifier.run) if notifier is not None
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
                lines, drafts = self._ingest.flush(time.time_ns())
                await self._ingest.room.commit(buffer, lines + self.health.to_lines(),
                                               self._ingest.take_state(), drafts)
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

    def every_gateway(self) -> list[Gateway]:
        return [*self.gateways, *self.value_gateways]

    def gateway_tasks(self, raw: Outbox) -> list[asyncio.Task[None]]:
        return [self._supervisor.start(g.name, partial(g.run, raw)) for g in self.every_gateway()]

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
        """Every ``health_interval_s``: the status file, the health lines, the edge's own
        alerts; the machines' tick (offline on silence, windows, drafts) a part at a time
        over the interval (:func:`tick_parts`)."""
        started = self._started_s
        held: list[str] = []
        state: dict[str, bytes] = {}
        raised: list[Alert] = []
        edge, notifier = self._edge_alerts, self._notifier
        parts = tick_parts(len(self.config.machines))
        for turn in itertools.count():
            await asyncio.sleep(self.config.health_interval_s / parts)
            notify("WATCHDOG=1")  # from the loop itself: a stuck loop stops the pings
            part = turn % parts
            status = self.status(started, buffer) if part == 0 else None
            if status is not None:
                await write_status_file(status, status_path(self.config.buffer_path()),
                                        self._throttle, self._ingest.dead_letters)
            try:  # the ingest's turn ends within a commit, unless the disk is full
                async with asyncio.timeout(self.config.health_interval_s):
                    await self._ingest.turn.acquire()
            except TimeoutError:
                continue
            try:
                now_ns = time.time_ns()
                drafts: list[str] = []  # a blocked turn's drafts are made anew by the next
                held += self._ingest.tick(now_ns, drafts, (part, parts))
                state = {**state, **self._ingest.take_state()}
                if status is not None:  # once an interval: the edge's own figures
                    held += self.health.to_lines()
                    if edge is not None:
                        found = edge.check(status, now_ns)
                        raised += found
                        held += self._ingest.derived(edge.points(found))
                        state.update(edge.take_state())
                await buffer.append(held, state, drafts)
                held, state = [], {}
                self._ingest.pass_alerts()
                if notifier is not None and raised:
                    notifier.offer(raised)
                raised = []
            except BufferBlocked:  # kept for the next turn: this loop must go on ticking
                del held[:-HELD_MAX]
            finally:
                self._ingest.turn.release()

    def status(self, started_s: float, buffer: DurableBuffer) -> dict[str, Any]:
        return service_status(started_s, self.health, self.every_gateway(),
                              list(zip(self._sinks, self.config.stores(), strict=True)),
                              buffer, self._ingest.room.full, self._supervisor.crashes)
