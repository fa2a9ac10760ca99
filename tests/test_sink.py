"""The sink in isolation, with a scripted writer standing in for InfluxDB."""

from __future__ import annotations

import asyncio

from edge.health import Health
from edge.influx_write import WriteFailed, WriteRejected
from edge.sink import Inbox, InfluxSink


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


async def drain(writer: ScriptedWriter, batches: list[list[str]], **options: float) -> Health:
    health = Health("s")
    sink = InfluxSink(writer, health, retry_min_s=0.01, retry_max_s=0.02, **options)  # type: ignore[arg-type]
    inbox: Inbox = asyncio.Queue()
    for batch in batches:
        inbox.put_nowait(batch)
    inbox.put_nowait(None)
    await asyncio.wait_for(sink.run(inbox), 10)
    return health


async def test_batches_by_size_and_flushes_the_rest_at_the_end() -> None:
    writer = ScriptedWriter()
    lines = [f"m f={i}.0 {i}" for i in range(25)]
    health = await drain(writer, [lines[:7], lines[7:20], lines[20:]], batch_size=10)
    assert [len(b) for b in writer.batches] == [10, 10, 5]
    assert [line for b in writer.batches for line in b] == lines
    assert health.get("sink", "points_written") == 25
    assert writer.closed


async def test_flushes_by_time_without_waiting_for_a_full_batch() -> None:
    writer = ScriptedWriter()
    health = Health("s")
    sink = InfluxSink(writer, health, batch_size=1000, flush_interval_s=0.05)  # type: ignore[arg-type]
    inbox: Inbox = asyncio.Queue()
    task = asyncio.create_task(sink.run(inbox))
    await inbox.put(["m f=1.0 1"])
    for _ in range(100):
        if writer.batches:
            break
        await asyncio.sleep(0.01)
    assert writer.batches == [["m f=1.0 1"]]
    await inbox.put(None)
    await task


async def test_retries_until_influxdb_answers_and_loses_nothing() -> None:
    writer = ScriptedWriter(failures=3)
    health = await drain(writer, [["a f=1.0 1", "b f=1.0 1"]])
    assert writer.batches == [["a f=1.0 1", "b f=1.0 1"]]
    assert health.get("sink", "write_errors") == 3


async def test_a_rejected_point_is_isolated_and_the_others_written() -> None:
    lines = [f"m f={i}.0 {i}" for i in range(8)]
    writer = ScriptedWriter(bad=frozenset({lines[5]}))
    health = await drain(writer, [lines])
    written = sorted(line for b in writer.batches for line in b)
    assert written == sorted(lines[:5] + lines[6:])
    assert health.get("sink", "dead_letters") == 1
