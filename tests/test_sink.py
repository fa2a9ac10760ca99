"""The sink in isolation, with a scripted writer standing in for InfluxDB and a real
durable buffer on disk."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge.storage.buffer import DurableBuffer
from edge.storage.dead_letters import DeadLetters
from edge.storage.health import Health
from edge.storage.influx_write import WriteFailed, WriteRejected
from edge.storage.sink import InfluxSink


class ScriptedWriter:
    def __init__(self, failures: int = 0, bad: frozenset[str] = frozenset()) -> None:
        self.failures = failures
        self.bad = bad
        self.batches: list[list[str]] = []
        self.closed = False

    async def write(self, lines: list[str]) -> None:
        if self.failures:
            self.failures -= 1
            raise WriteFailed("connection refused")
        if self.bad & set(lines):
            raise WriteRejected("HTTP 400: field type conflict")
        self.batches.append(list(lines))

    async def close(self) -> None:
        self.closed = True


async def drain(tmp_path: Path, writer: ScriptedWriter, batches: list[list[str]],
                **options: Any) -> tuple[Health, DurableBuffer]:
    health = Health("s")
    buffer = DurableBuffer(tmp_path / "buffer.sqlite", health)
    await buffer.open()
    for batch in batches:
        await buffer.append(batch)
    sink = InfluxSink(writer, health, retry_min_s=0.01, retry_max_s=0.02, **options)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(sink.run(buffer, stop), 10)
    return health, buffer


async def test_batches_by_size_and_empties_the_buffer(tmp_path: Path) -> None:
    writer = ScriptedWriter()
    lines = [f"m f={i}.0 {i}" for i in range(25)]
    health, buffer = await drain(tmp_path, writer, [lines[:7], lines[7:20], lines[20:]],
                                 batch_size=10)
    assert [len(b) for b in writer.batches] == [10, 10, 5]
    assert [line for b in writer.batches for line in b] == lines
    assert health.get("sink", "points_written") == 25
    assert buffer.depth == 0 and writer.closed


async def test_flushes_by_time_without_waiting_for_a_full_batch(tmp_path: Path) -> None:
    writer = ScriptedWriter()
    health = Health("s")
    buffer = DurableBuffer(tmp_path / "b.sqlite", health)
    await buffer.open()
    sink = InfluxSink(writer, health, batch_size=1000, flush_interval_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(buffer, stop))
    await buffer.append(["m f=1.0 1"])
    for _ in range(100):
        if writer.batches:
            break
        await asyncio.sleep(0.01)
    assert writer.batches == [["m f=1.0 1"]]
    stop.set()
    await task


async def test_retries_until_influxdb_answers_and_loses_nothing(tmp_path: Path) -> None:
    writer = ScriptedWriter(failures=3)
    health, _ = await drain(tmp_path, writer, [["a f=1.0 1", "b f=1.0 1"]])
    assert writer.batches == [["a f=1.0 1", "b f=1.0 1"]]
    assert health.get("sink", "write_errors") == 3


async def test_a_rejected_point_is_isolated_and_the_others_written(tmp_path: Path) -> None:
    lines = [f"m f={i}.0 {i}" for i in range(8)]
    writer = ScriptedWriter(bad=frozenset({lines[5]}))
    health, buffer = await drain(tmp_path, writer, [lines])
    written = sorted(line for b in writer.batches for line in b)
    assert written == sorted(lines[:5] + lines[6:])
    assert health.get("sink", "dead_letters") == 1
    assert buffer.depth == 0


async def test_a_rejected_point_is_kept_in_the_dead_letter_file(tmp_path: Path) -> None:
    """Issue 14, defect 9: points InfluxDB refused with a 400 were counted and dropped."""
    lines = [f"m f={i}.0 {i}" for i in range(8)]
    letters = DeadLetters(tmp_path / "dead.jsonl")
    await drain(tmp_path, ScriptedWriter(bad=frozenset({lines[2], lines[6]})), [lines],
                dead_letters=letters)
    letters.flush()  # as the service does after each batch and each health interval
    kept = [orjson.loads(line) for line in (tmp_path / "dead.jsonl").read_bytes().splitlines()]
    assert [(k["source"], k["payload"], k["error"]) for k in kept] == [
        ("sink", lines[2], "HTTP 400: field type conflict"),
        ("sink", lines[6], "HTTP 400: field type conflict")]


async def test_points_stay_on_disk_when_influxdb_is_away_at_stop(tmp_path: Path) -> None:
    writer = ScriptedWriter(failures=10**6)
    _, buffer = await drain(tmp_path, writer, [["a f=1.0 1", "b f=2.0 2"]],
                                 drain_timeout_s=0.1)
    await buffer.close()
    reopened = DurableBuffer(tmp_path / "buffer.sqlite", Health("s"))
    assert await reopened.open() == 2
    taken = await reopened.take(10)
    assert taken is not None and taken.lines == ["a f=1.0 1", "b f=2.0 2"]
    await reopened.close()


async def test_the_bound_drops_the_oldest_and_counts_exactly(tmp_path: Path) -> None:
    health = Health("s")
    buffer = DurableBuffer(tmp_path / "bound.sqlite", health, max_points=1000)
    await buffer.open()
    for start in range(0, 2500, 100):
        await buffer.append([f"m f={i}.0 {i}" for i in range(start, start + 100)])
    assert buffer.depth == 1000
    assert health.get("buffer", "buffer_dropped") == 1500
    taken = await buffer.take(2000)
    assert taken is not None and len(taken.lines) == 1000
    assert taken.lines[0] == "m f=1500.0 1500" and taken.lines[-1] == "m f=2499.0 2499"
    await buffer.close()


async def test_a_chunk_taken_in_part_keeps_its_tail_even_if_the_bound_trims_it(
        tmp_path: Path) -> None:
    buffer = DurableBuffer(tmp_path / "chunks.sqlite", Health("s"), max_points=1000)
    await buffer.open()
    await buffer.append([f"a{i} f=1.0 {i}" for i in range(600)])
    taken = await buffer.take(250)  # the sink writes these 250 while ...
    assert taken is not None and taken.lines[-1] == "a249 f=1.0 249"
    await buffer.append([f"b{i} f=1.0 {i}" for i in range(500)])  # ... the bound drops 100
    await buffer.delete_taken(taken)
    assert buffer.depth == 850  # 1000 kept by the bound, minus the 150 written of them
    rest = await buffer.take(2000)
    assert rest is not None
    assert rest.lines == [f"a{i} f=1.0 {i}" for i in range(250, 600)] + [
        f"b{i} f=1.0 {i}" for i in range(500)]
    await buffer.close()


async def test_a_buffer_of_rows_per_point_is_adopted_in_order(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the layout of version 0.1
        db.execute("CREATE TABLE points (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                   " added_ns INTEGER NOT NULL, line TEXT NOT NULL)")
        db.executemany("INSERT INTO points (added_ns, line) VALUES (?, ?)",
                       [(time.time_ns(), f"m f={i}.0 {i}") for i in range(7000)])
    buffer = DurableBuffer(path, Health("s"))
    assert await buffer.open() == 7000
    taken = await buffer.take(10_000)
    assert taken is not None and taken.lines == [f"m f={i}.0 {i}" for i in range(7000)]
    await buffer.close()


async def backlog(tmp_path: Path, health: Health, points: int) -> DurableBuffer:
    """A buffer holding ``points`` telemetry points in chunks of five: a backlog."""
    buffer = DurableBuffer(tmp_path / "buffer.sqlite", health)
    await buffer.open()
    for start in range(0, points, 5):
        await buffer.append([f"telemetry v={i}.0 {i}" for i in range(start, start + 5)])
    return buffer


class ArrivingWriter(ScriptedWriter):
    """InfluxDB away for the first ``failures`` writes, ten points arriving at each (the
    outage's backlog); at the ``live_at``-th write that succeeds, live points arrive, and
    the backlog's next batch is held until they are written (or a generous while: then
    the order the test asserts shows what went wrong), so no test races the sink."""

    def __init__(self, buffer: DurableBuffer, live: list[str], failures: int = 0,
                 live_at: int = 1) -> None:
        super().__init__(failures)
        self.buffer, self.live, self.live_at = buffer, live, live_at
        self.outages = self.successes = 0
        self.awaited: set[str] = set()
        self.previewed = asyncio.Event()

    async def write(self, lines: list[str]) -> None:
        if self.failures:
            self.outages += 1
            await self.buffer.append([f"telemetry o={self.outages}.{i} "
                                      f"{1000 + 10 * self.outages + i}" for i in range(10)])
            await super().write(lines)  # fails
        self.successes += 1
        if self.successes == self.live_at:
            await self.buffer.append(self.live)
            self.awaited = set(self.live)
        elif self.awaited & set(lines):
            self.previewed.set()
        elif self.awaited and not self.previewed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.previewed.wait(), 60)
        await super().write(lines)


async def test_live_points_go_ahead_of_a_backlog_and_the_last_write_stays_in_order(
        tmp_path: Path) -> None:
    from tests.waiting import until

    health = Health("s")
    buffer = DurableBuffer(tmp_path / "buffer.sqlite", health)
    await buffer.open()
    backlog = [f"telemetry v={i}.0 {i}" for i in range(60)]
    backlog[30] = "oee,window=hour oee=0.5 1000"  # a window, rewritten later
    for start in range(0, 60, 5):
        await buffer.append(backlog[start:start + 5])
    live = ["oee,window=hour oee=0.7 1000", "telemetry v=99.0 99"]
    writer = ArrivingWriter(buffer, live)
    sink = InfluxSink(writer, health, batch_size=5, flush_interval_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(buffer, stop))
    await until("the buffer drained", lambda: buffer.depth == 0 and writer.successes > 1)
    stop.set()
    await asyncio.wait_for(task, 10)

    written = [line for batch in writer.batches for line in batch]
    assert set(written) == set(backlog) | set(live)  # everything, at least once
    assert written.index("telemetry v=99.0 99") < written.index(backlog[-1])  # ahead
    assert written.index(live[0]) < written.index(backlog[30])  # the preview came first
    last = [line for line in written if line.startswith("oee,window=hour ")][-1]
    assert last == live[0]  # yet InfluxDB's last write of the window is the newest
    assert health.get("sink", "points_previewed") == 2
    await buffer.close()


@pytest.mark.parametrize("live_at", [1, 2])
async def test_after_an_outage_during_a_backlog_live_points_still_go_first(
        tmp_path: Path, live_at: int) -> None:
    """Live points arrive during the first write that finds InfluxDB back (which takes a
    while: a busy InfluxDB, a big batch) or during the next: either way they are live,
    not the outage's backlog."""
    from tests.waiting import until

    health = Health("s")
    buffer = await backlog(tmp_path, health, 60)
    live = "telemetry live=1.0 5000"
    writer = ArrivingWriter(buffer, [live], failures=3, live_at=live_at)
    sink = InfluxSink(writer, health, batch_size=5, flush_interval_s=0.01, retry_min_s=0.01,
                      retry_max_s=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(buffer, stop))
    await until("the buffer drained", lambda: writer.successes > 2 and buffer.depth == 0)
    stop.set()
    await asyncio.wait_for(task, 10)
    written = [line for batch in writer.batches for line in batch]
    first_outage = min(i for i, line in enumerate(written) if " o=" in line)
    assert written.index(live) < first_outage  # not behind the outage
    assert written.index(live) < written.index("telemetry v=59.0 59")  # nor the backlog
    assert len({line for line in written if " o=" in line}) == 30
    await buffer.close()


class OutOfOrderStore(ScriptedWriter):
    """A store that applies each request when it completes, after a random 0-30 ms, as
    InfluxDB applies concurrent requests: the last to complete wins, whatever was sent
    first. ``held``: the first request carrying that line completes only after one
    carrying ``after`` did (or 2 s)."""

    def __init__(self, seed: int, held: str = "", after: str = "") -> None:
        super().__init__()
        self.random, self.held, self.after = random.Random(seed), held, after
        self.kept: dict[str, str] = {}
        self.in_flight = 0
        self.holding = asyncio.Event()
        self.after_done = asyncio.Event()

    async def write(self, lines: list[str]) -> None:
        self.in_flight += 1
        if self.held in lines and not self.holding.is_set():
            self.holding.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.after_done.wait(), 2)
        await asyncio.sleep(self.random.uniform(0, 0.03))
        self.in_flight -= 1
        for line in lines:
            head, fields, time_ns = line.split(" ")
            self.kept[f"{head} {time_ns}"] = fields
        if self.after in lines:
            self.after_done.set()
        await super().write(lines)


@pytest.mark.parametrize("seed", range(24))
async def test_the_store_keeps_the_newest_when_requests_complete_out_of_order(
        tmp_path: Path, seed: int) -> None:
    """A backlog drains while a window is rewritten live, again and again; whatever order
    the store's requests complete in, its last word on every point is the queue's newest.
    Seed 0 forces the case seen: the preview of an older version completes after the
    newest version was written."""
    from tests.waiting import until

    health = Health("s")
    buffer = await backlog(tmp_path, health, 40)
    window = "oee,window=hour oee={}.0 1000"
    forced = seed == 0
    store = (OutOfOrderStore(seed, held=window.format(94), after=window.format(95)) if forced
             else OutOfOrderStore(seed))
    sink = InfluxSink(store, health, batch_size=5, flush_interval_s=0.005)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(buffer, stop))
    for version in range(90, 96):  # live: each a newer whole window, with telemetry
        if forced and version == 95:
            await until("the preview of 94 in flight", store.holding.is_set)
        await buffer.append([window.format(version), f"telemetry live={version}.0 {version}"])
        await asyncio.sleep(store.random.uniform(0, 0.02))
    await until("the buffer drained", lambda: buffer.depth == 0 and store.in_flight == 0)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert store.kept["oee,window=hour 1000"] == "oee=95.0"
    assert len(store.kept) == 40 + 6 + 1
    if forced:
        assert health.get("sink", "points_previewed") > 0
    await buffer.close()
