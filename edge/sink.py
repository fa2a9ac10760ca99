"""The InfluxDB sink: batches points by size and time, retries with capped backoff, and
isolates points InfluxDB rejects so that one bad point never blocks the ones behind it.

A rejected batch (HTTP 400, e.g. a field type conflict) is split in halves until the
offending lines are alone; those become dead letters (logged and counted), the rest are
written. Re-writing the good half is harmless: points are idempotent (same series and
timestamp overwrite).
"""

from __future__ import annotations

import asyncio
import logging
import time

from edge.eventlog import Throttle, log_event
from edge.health import Health
from edge.influx_write import LineWriter, WriteFailed, WriteRejected

SINK = "sink"

Inbox = asyncio.Queue[list[str] | None]
"""Batches of lines; ``None`` ends the stream: the sink flushes and returns."""


class InfluxSink:
    def __init__(
        self,
        writer: LineWriter,
        health: Health,
        batch_size: int = 5000,
        flush_interval_s: float = 1.0,
        retry_min_s: float = 0.5,
        retry_max_s: float = 30.0,
        drain_timeout_s: float = 10.0,
    ) -> None:
        self._writer = writer
        self._health = health
        self._batch_size = batch_size
        self._flush_interval = flush_interval_s
        self._retry_min, self._retry_max = retry_min_s, retry_max_s
        self._drain_timeout = drain_timeout_s
        self._drain_deadline: float | None = None
        self._throttle = Throttle()
        self._failing = False

    async def run(self, inbox: Inbox) -> None:
        loop = asyncio.get_running_loop()
        pending: list[str] = []
        deadline = 0.0
        while True:
            self._health.set(SINK, "buffer_depth", len(pending) + inbox.qsize())
            if not pending:
                item = await inbox.get()
                deadline = loop.time() + self._flush_interval
            else:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    pending = await self._flush(pending, everything=True)
                    continue
                try:
                    async with asyncio.timeout(remaining):
                        item = await inbox.get()
                except TimeoutError:
                    continue
            if item is None:
                self._drain_deadline = loop.time() + self._drain_timeout
                await self._flush(pending, everything=True)
                await self._writer.close()
                return
            pending.extend(item)
            if len(pending) >= self._batch_size:
                pending = await self._flush(pending, everything=False)

    async def _flush(self, lines: list[str], everything: bool) -> list[str]:
        """Write full batches (all of ``lines`` if ``everything``); return the rest."""
        size = self._batch_size
        end = len(lines) if everything else len(lines) - len(lines) % size
        for start in range(0, end, size):
            await self._write_isolating(lines[start : min(start + size, end)])
        return lines[end:]

    async def _write_isolating(self, lines: list[str]) -> None:
        try:
            await self._write_retrying(lines)
        except WriteRejected as exc:
            if len(lines) == 1:
                self._health.count(SINK, "dead_letters")
                self._throttle.event("dead_letter", "sink.dead_letter", logging.WARNING,
                                     reason=str(exc), line=lines[0][:500])
                return
            middle = len(lines) // 2
            await self._write_isolating(lines[:middle])
            await self._write_isolating(lines[middle:])

    async def _write_retrying(self, lines: list[str]) -> None:
        delay = self._retry_min
        while True:
            started = time.perf_counter()
            try:
                await self._writer.write(lines)
            except WriteFailed as exc:
                self._health.count(SINK, "write_errors")
                if not self._failing:
                    self._failing = True
                    log_event("sink.write_failed", logging.WARNING, error=str(exc),
                              points=len(lines), retry_in_s=delay)
                if self._drain_deadline is not None and (
                    asyncio.get_running_loop().time() + delay > self._drain_deadline
                ):
                    self._health.count(SINK, "points_lost", len(lines))
                    log_event("sink.unflushed_at_stop", logging.ERROR, points=len(lines),
                              error=str(exc))
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            self._health.set(SINK, "write_latency_ms", (time.perf_counter() - started) * 1000)
            self._health.count(SINK, "points_written", len(lines))
            if self._failing:
                self._failing = False
                log_event("sink.write_recovered", points=len(lines))
            return
