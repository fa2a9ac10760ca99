"""A sink: writes what its queue in the durable buffer holds (one sink per store), oldest
first, in batches by
size and time, retrying with capped backoff; a point leaves the buffer only when InfluxDB
accepted it.

A rejected batch (HTTP 400, e.g. a field type conflict) is split in halves until the
offending lines are alone; those become dead letters (kept in the dead-letter file with
InfluxDB's reason, logged, counted, and removed so they never block the queue behind
them), the rest are written. Re-writing the good half is harmless: points are idempotent
(same series and timestamp overwrite). A ``Retry-After`` from InfluxDB (429, 503) is
honoured. Since when writes fail, and why, is kept for ``circlemade status``.

**Live points first during a backlog.** After an outage the queue holds hours of points
and live ones would wait behind all of them. While more than ``BACKLOG_BATCHES`` batches
wait, the sink notes the newest chunk it found (everything up to it is backlog) and,
beside the backlog's batches (every flush interval, while one is in flight), writes the
chunks that arrived since: a *preview*, not deleted. The in-order pass writes them again
when it reaches them, and only then deletes them. So InfluxDB's last write of every
point (series and time) is still the one in queue order: a window rewritten during the
backlog may show its older value for a while (the backlog's version, written after the
preview), and has its newest value again once the backlog reaches it; after a crash the
in-order pass alone writes everything, as before. Live points cost two writes while a
backlog drains, none otherwise.

InfluxDB applies concurrent requests in the order they complete, not the order they were
sent, so a preview must never be the last write of a point the queue rewrites: previews
and every in-order write past the backlog take turns (one lock), and a preview only takes
chunks newer than any the in-order pass has begun to write. The backlog's own batches go
beside previews: they hold no chunk a preview holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time

from contract.errors import CirclemadeError
from contract.eventlog import Throttle, describe, log_event
from contract.reading import iso_time
from edge.storage.buffer import DurableBuffer
from edge.storage.chunks import Taken
from edge.storage.dead_letters import DeadLetters
from edge.storage.health import Health
from edge.storage.influx_write import LineWriter, WriteFailed, WriteRejected

SINK = "sink"
BACKLOG_BATCHES = 2
"""More batches than this waiting is a backlog: live points are previewed."""
RETRY_AFTER_MAX_S = 300.0
"""The longest ``Retry-After`` obeyed: a server asking for more is asked again sooner."""


class Stopped(CirclemadeError):
    """The service stops while InfluxDB does not answer: the points stay in the buffer."""


class InfluxSink:
    def __init__(
        self,
        writer: LineWriter,
        health: Health,
        batch_size: int = 5000,
        flush_interval_s: float = 0.1,
        retry_min_s: float = 0.5,
        retry_max_s: float = 30.0,
        drain_timeout_s: float = 10.0,
        dead_letters: DeadLetters | None = None,
        queue: str = "influx",
        source: str = SINK,
    ) -> None:
        """``queue``: the buffer's queue it writes; ``source``: where its counters go."""
        self._writer = writer
        self.queue, self.source = queue, source
        self._health = health
        self._batch_size = batch_size
        self._flush_interval = flush_interval_s
        self._retry_min, self._retry_max = retry_min_s, retry_max_s
        self._drain_timeout = drain_timeout_s
        self._drain_deadline: float | None = None
        self._throttle = Throttle()
        self._dead_letters = dead_letters
        self._previewed: int | None = None
        """The newest chunk written ahead of the backlog (None: no backlog)."""
        self._backlog_end = 0
        """The newest chunk of the backlog: in-order batches up to it go beside previews."""
        self._written_through = 0
        """The newest chunk the in-order pass has begun to write."""
        self._turns = asyncio.Lock()
        """Previews and in-order writes of live chunks, one at a time."""
        self.refused = False
        """The store refused the credentials or rights at the last try (see WriteFailed)."""
        self.failing_since_s: float | None = None
        """Wall-clock time of the first failure of the current outage; None when writing."""
        self.last_error = ""

    async def run(self, buffer: DurableBuffer, stop: asyncio.Event) -> None:
        """Until ``stop`` is set and the buffer is empty (or InfluxDB does not answer
        within ``drain_timeout_s`` of the stop: then the rest waits for the next start)."""
        loop = asyncio.get_running_loop()
        queue = buffer.queues[self.queue]
        previews = asyncio.create_task(self._previews(buffer, stop))  # beside this loop
        try:
            while True:
                if stop.is_set() and self._drain_deadline is None:
                    self._drain_deadline = loop.time() + self._drain_timeout
                queue.appended.clear()  # before the peek: an append after it wakes us
                taken = await buffer.take(self._batch_size, self.queue)
                if taken is None:
                    if stop.is_set():
                        return
                    await _first(queue.appended.wait(), stop.wait(), within=None)
                    continue
                if queue.depth <= BACKLOG_BATCHES * self._batch_size:
                    self._previewed = None
                elif self._previewed is None:  # a backlog: what comes from now on is live
                    self._mark_backlog(await buffer.newest_chunk(self.queue))
                if len(taken.lines) < self._batch_size and not stop.is_set():
                    # batch by time: let a small batch grow for up to one flush interval
                    await _first(stop.wait(), within=self._flush_interval)
                    taken = await buffer.take(self._batch_size, self.queue) or taken
                try:
                    await self._write_in_order(buffer, taken)
                except Stopped:
                    log_event("sink.left_in_buffer", logging.WARNING, sink=self.queue,
                              points=queue.depth)
                    return
                try:
                    await buffer.delete_taken(taken)
                except sqlite3.OperationalError as exc:  # a full disk: written again later
                    self._throttle.event("delete", "sink.delete_failed", logging.ERROR,
                                         sink=self.queue, path=str(buffer.path),
                                         error=describe(exc),
                                         action="the points are written again (idempotent)")
                    await _first(stop.wait(), within=1.0)
        finally:
            previews.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await previews
            await self._writer.close()

    def _mark_backlog(self, newest: int | None) -> None:
        """Everything up to chunk ``newest`` is backlog (None: there is no backlog)."""
        self._previewed = newest
        if newest is not None:
            self._backlog_end = newest

    async def _write_in_order(self, buffer: DurableBuffer, taken: Taken) -> None:
        self._written_through = max(self._written_through, taken.last_chunk)
        if self._previewed is not None and taken.last_chunk <= self._backlog_end:
            await self._write_isolating(buffer, taken.lines)  # backlog: beside previews
            return
        async with self._turns:
            await self._write_isolating(buffer, taken.lines)

    async def _previews(self, buffer: DurableBuffer, stop: asyncio.Event) -> None:
        """Beside the in-order pass, every flush interval while a backlog drains: what
        arrived since it began, so that a live point waits for one write, not for the
        backlog batch in flight."""
        while not stop.is_set():
            await _first(stop.wait(), within=self._flush_interval)
            if self._previewed is not None and self.failing_since_s is None:
                await self._preview(buffer, self._previewed)

    async def _preview(self, buffer: DurableBuffer, after_chunk: int) -> None:
        """Write what arrived since the backlog began, ahead of it (left in the queue),
        never a chunk the in-order pass has begun to write."""
        async with self._turns:
            after = max(after_chunk, self._written_through)
            live = await buffer.take_newer(self.queue, after, self._batch_size)
            if live is None:
                return
            try:
                await self._writer.write(live.lines)
            except (WriteFailed, WriteRejected):
                return  # the in-order pass retries them, or isolates what is rejected
        if self._previewed is not None:  # unless the backlog ended meanwhile
            self._previewed = live.last_chunk
        self._health.count(self.source, "points_previewed", len(live.lines))

    async def _write_isolating(self, buffer: DurableBuffer, lines: list[str]) -> None:
        try:
            await self._write_retrying(buffer, lines)
        except WriteRejected as exc:
            if len(lines) == 1:
                self._health.count(self.source, "dead_letters")
                self._throttle.event("dead_letter", "sink.dead_letter", logging.WARNING,
                                     sink=self.queue, reason=str(exc), line=lines[0][:500])
                if self._dead_letters is not None:  # written by the service's next flush
                    self._dead_letters.add(iso_time(time.time_ns()), self.source, "", str(exc),
                                           lines[0].encode())
                return
            middle = len(lines) // 2
            await self._write_isolating(buffer, lines[:middle])
            await self._write_isolating(buffer, lines[middle:])

    async def _write_retrying(self, buffer: DurableBuffer, lines: list[str]) -> None:
        delay = self._retry_min
        while True:
            # while failing: should this attempt succeed, what arrives from now on is live
            back_from = (await buffer.newest_chunk(self.queue)
                         if self.failing_since_s is not None else None)
            started = time.perf_counter()
            try:
                await self._writer.write(lines)
            except WriteFailed as exc:
                self._health.count(self.source, "write_errors")
                self.last_error, self.refused = str(exc), exc.refused
                self._mark_backlog(None)  # what waits when it is back is backlog
                wait = delay if exc.retry_after_s is None else min(
                    max(delay, exc.retry_after_s), RETRY_AFTER_MAX_S)
                if self.failing_since_s is None:
                    self.failing_since_s = time.time()
                    log_event("sink.write_failed", logging.WARNING, sink=self.queue,
                              error=str(exc),
                              points=len(lines), retry_in_s=round(wait, 3))
                if self._drain_deadline is not None and (
                    asyncio.get_running_loop().time() + wait > self._drain_deadline
                ):
                    raise Stopped from None
                await asyncio.sleep(wait)
                delay = min(delay * 2, self._retry_max)
                continue
            source = self.source
            self.refused = False
            self._health.set(source, "write_latency_ms", (time.perf_counter() - started) * 1000)
            self._health.count(source, "points_written", len(lines))
            self._health.set(source, "last_write_s", time.time())
            if self.failing_since_s is not None:
                log_event("sink.write_recovered", sink=self.queue, points=len(lines),
                          after_s=round(time.time() - self.failing_since_s, 1))
                self.failing_since_s = None
                # live from this write's start, not from the next batch's: a point that
                # came during this write would otherwise wait for the whole backlog
                self._mark_backlog(back_from)
            return


async def _first(*waits: object, within: float | None) -> None:
    """Wait for the first of some awaitables (or the timeout), cancelling the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
