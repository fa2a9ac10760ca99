"""The ingest stage: raw message batches in, line protocol batches out.

Each message goes to the decoder of the source it was routed to; its readings are
checked (values, units, times) and normalised into points of the canonical schema, and
the KPI stage derives its points from them. What a stage cannot take (a message that
fails to decode, a reading refused, a reading the KPI stage fails on) is counted against
its source, logged (throttled) and dead-lettered, and never holds up the others; a batch
that fails as a whole goes through again message by message. Points go into the durable
buffer before the messages are acknowledged, waiting while the buffer's disk is full;
a batch is processed while the one before is committed (edge/pipeline/made.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial

from contract.eventlog import Throttle, describe, log_event
from contract.raw_message import RawMessage
from contract.reading import Reading, iso_time
from edge.pipeline.kpi.alerts import Alert
from edge.pipeline.kpi.context import Point
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.made import InFlight, Made, Room, acknowledged
from edge.pipeline.normalise import Normaliser
from edge.storage.buffer import BufferBlocked, DurableBuffer
from edge.storage.dead_letters import DeadLetters
from edge.storage.health import Health
from edge.storage.line_protocol import LineProtocolError
from gateways.decoding import DecodeError, PartialDecode
from gateways.profiles import Decoder


class Ingest:
    def __init__(
        self, decoders: dict[str, Decoder], normaliser: Normaliser, health: Health,
        kpi: KpiEngine | None = None, dead_letters: DeadLetters | None = None,
    ) -> None:
        self._decoders = decoders
        self._normaliser = normaliser
        self._health = health
        self.kpi = kpi
        self.dead_letters = dead_letters
        self._throttle = Throttle()
        self._acks: list[Callable[[], object]] = []
        self.turn = asyncio.Lock()
        """Held while a turn makes points and begins their commit (the ingest's batches,
        the service's ticks): commits are then in the order the KPI memory changed."""
        self.room = Room(health)
        self.on_alerts: Callable[[list[Alert]], None] | None = None

    async def run(
        self, inbox: asyncio.Queue[list[RawMessage | Reading] | None], buffer: DurableBuffer,
    ) -> None:
        """Until ``None`` arrives: each batch processed while the commit of the one before
        runs (its fsync in the buffer's thread); its messages acknowledged as soon as its
        own commit is done, never before. A turn (a batch made and its commit begun)
        holds :attr:`turn`, so nothing else commits KPI memory in between."""
        flight: InFlight | None = None
        while (batch := await inbox.get()) is not None:
            async with self.turn:
                flight = await self._land(buffer, flight, self._made(batch))
                if flight is not None:
                    flight.commit.add_done_callback(partial(acknowledged, flight.made, inbox))
        async with self.turn:
            await self._land(buffer, flight, None)

    def _made(self, batch: list[RawMessage | Reading]) -> Made:
        lines = self.guarded(batch)
        then = self.take_acks()
        alerts = self.kpi.take_alerts() if self.kpi is not None else []
        if alerts and self.on_alerts is not None:
            then.append(partial(self.on_alerts, alerts))
        return Made(lines, self.take_state(), then)

    async def _land(self, buffer: DurableBuffer, flight: InFlight | None, made: Made | None,
                    ) -> InFlight | None:
        """The commit in flight done, then ``made``'s begun. A commit the full disk
        refused is made again with ``made``, once there is room."""
        if flight is not None:
            try:
                await flight.commit
            except BufferBlocked:
                joined = flight.made.joined(made)
                await self.room.commit(buffer, joined.lines, joined.state)
                for then in joined.then:
                    then()
                made = None
            if self.dead_letters is not None and self.dead_letters.pending:
                await asyncio.to_thread(self.dead_letters.flush)
        return None if made is None else InFlight(made, buffer.submit(made.lines, made.state))

    def guarded(self, batch: list[RawMessage | Reading], now_ns: int | None = None,
                ) -> list[str]:
        """:meth:`process` under a guard: should it fail for the whole batch (a bug, never
        bad input, which each stage handles), the messages go through one at a time, and
        the one that fails is dead-lettered and acknowledged, so it cannot come back."""
        mark = len(self._acks)
        try:
            return self.process(batch, now_ns)
        except Exception as exc:
            del self._acks[mark:]
            self._health.count("ingest", "batch_errors")
            log_event("ingest.batch_failed", logging.ERROR, messages=len(batch),
                      error=describe(exc), action="processing its messages one by one")
        lines: list[str] = []
        for item in batch:
            mark = len(self._acks)
            try:
                lines += self.process([item], now_ns)
            except Exception as exc:
                del self._acks[mark:]
                if isinstance(item, Reading):
                    self._bad_input(item.machine, item.signal, f"ingest: {describe(exc)}")
                else:
                    if item.ack is not None:
                        self._acks.append(item.ack)
                    self._bad_input(item.route, item.topic, f"ingest: {describe(exc)}", item)
        return lines

    def process(self, batch: list[RawMessage | Reading], now_ns: int | None = None,
                ) -> list[str]:
        """Decode raw messages; readings (from OPC UA, already typed) pass straight on.
        ``now_ns``, the clock readings are checked against: the latest arrival in the
        batch (or the wall clock) unless given (replay gives the recording's)."""
        readings: list[Reading] = []
        counts: dict[str, int] = {}
        latest = 0
        for message in batch:
            if isinstance(message, Reading):
                readings.append(message)
                continue
            route = message.route
            counts[route] = counts.get(route, 0) + 1
            if message.received_ns > latest:
                latest = message.received_ns
            if message.ack is not None:
                self._acks.append(message.ack)
            try:
                readings.extend(
                    self._decoders[route].decode(message.topic, message.payload,
                                                 message.received_ns)
                )
            except PartialDecode as exc:
                readings.extend(exc.readings)
                self._bad_input(route, message.topic, str(exc), message)
            except DecodeError as exc:
                self._bad_input(route, message.topic, str(exc), message)
            except Exception as exc:  # a decoder bug must not stop ingest
                self._bad_input(route, message.topic, describe(exc), message)
        now_s = time.time()
        for route, count in counts.items():
            self._health.count(route, "messages_in", count)
            self._health.set(route, "last_message_s", now_s)
        canonical, rejected = self._normaliser.canonical(readings, now_ns or latest or None)
        points: list[Point] = []
        if self.kpi is not None:
            canonical, points = self.kpi.process(canonical)
            for reading, reason in self.kpi.take_failures():
                self._bad_input(reading.machine, reading.signal, reason)
        for item in rejected:
            self._bad_input(item.reading.machine, item.reading.signal, item.reason)
        self._health.count("ingest", "readings_out", len(canonical))
        return self._normaliser.encode(canonical) + self.derived(points)

    def pass_alerts(self) -> None:
        """Alerts of what was just committed, to whoever sends them (after the commit:
        a restart must not send one twice)."""
        if self.kpi is not None and self.on_alerts is not None:
            alerts = self.kpi.take_alerts()
            if alerts:
                self.on_alerts(alerts)

    def take_state(self) -> dict[str, bytes]:
        """The KPI memory changed since the last call (machine -> stored form)."""
        return {} if self.kpi is None else self.kpi.take_state()

    def take_acks(self) -> list[Callable[[], object]]:
        """Acknowledgements of the messages processed so far, for after the buffer append."""
        acks, self._acks = self._acks, []
        return acks

    def tick(self, now_ns: int, drafts: list[str] | None = None,
             part: tuple[int, int] = (0, 1)) -> list[str]:
        """Lines that time alone produces (offline on silence, OEE windows); into
        ``drafts`` the open windows and stops as far as they go. ``part``: of the
        machines (:meth:`KpiEngine.tick`)."""
        if self.kpi is None:
            return []
        made: list[Point] | None = None if drafts is None else []
        readings, points = self.kpi.tick(now_ns, made, part)
        if drafts is not None and made:
            drafts += self.derived(made)
        return self._normaliser.encode(readings) + self.derived(points)

    def flush(self, now_ns: int) -> tuple[list[str], list[str]]:
        """At stop: the lines of the windows that ended, and the drafts of those open."""
        if self.kpi is None:
            return [], []
        points, drafts = self.kpi.flush(now_ns)
        return self.derived(points), self.derived(drafts)

    def derived(self, points: list[Point]) -> list[str]:
        """Lines of the KPI stage's points; one that cannot be stored (a figure grown
        past what a float holds) is bad input of its machine, not a stop of the stage."""
        try:
            return self._normaliser.point_lines(points)
        except LineProtocolError:
            pass
        lines: list[str] = []
        for point in points:
            try:
                lines += self._normaliser.point_lines([point])
            except LineProtocolError as exc:
                self._bad_input(dict(point.tags).get("machine", "?"), point.measurement,
                                f"kpi: {exc}")
        return lines

    def _bad_input(self, source: str, topic: str, reason: str,
                   message: RawMessage | None = None) -> None:
        self._health.count(source, "decode_errors")
        if self.dead_letters is not None:
            self.dead_letters.add(iso_time(message.received_ns if message else time.time_ns()),
                                  source, topic, reason, message.payload if message else None)
        where = {"received": iso_time(message.received_ns)} if message else {}
        self._throttle.event(f"{source}|{reason[:40]}", "ingest.decode_error", logging.WARNING,
                             source=source, topic=topic, error=reason, **where)
