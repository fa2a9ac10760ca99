"""The durable outbox: line protocol points on disk (SQLite in WAL mode) between the
pipeline and InfluxDB.

A point is appended (and committed, fsynced by default) before the MQTT message it came
from is acknowledged, and deleted only after InfluxDB accepted it, so neither an outage,
a SIGKILL nor a power cut loses it; a restarted service first drains what the last run
left. The buffer is bounded by ``max_points``, ``max_bytes`` and ``max_age_s``; past a
bound the oldest points are dropped, counted in ``edge_health`` (``buffer_dropped``) and
logged once per episode.

The disk is not the buffer's alone: below ``min_free_bytes`` of free space (or when
SQLite finds the disk full) an append raises :class:`BufferBlocked` and changes nothing, so
the caller can hold back the acknowledgements and try again once the sink has made room
(pages freed inside the file count as room); a disk turned read-only or failing blocks
appends the same way. Deleting needs room too (SQLite writes it to the WAL first), so the
buffer keeps a reserve file (``<name>.reserve``) that it gives up when something else has
filled the disk, and takes back once there is room; its WAL shrinks back to 8 MB at
each checkpoint. A file SQLite finds damaged is moved aside
(``<name>.damaged-<time>``, for ``circlemade buffer recover``) and a fresh one started: a
broken file must not keep the edge down. A directory the service cannot write is a start
error naming the path (:class:`BufferUnavailable`).

Each store the service writes to (``[influx]`` and every ``[[sinks]]``) has its own queue
in the file (:class:`Queue`, the ``sink`` column): an append puts into each queue the
lines of the measurements that store receives, in the same transaction, and each sink
takes and deletes from its own queue only. So one store's outage never holds back
another, each has its own bounds and counters, and a KPI point sent to two stores is
stored twice (small) while 1 Hz telemetry kept for the local store only is stored once.

The same file holds the KPI stage's memory (``kpi_state``, one row per machine, with the
format's version in ``meta``): it is written in the same transaction as the points it
produced, so after a SIGKILL or a power cut the memory and the points agree.

All SQLite work runs in one dedicated thread, so the event loop never blocks on disk and
the connection is only ever used from one thread.

Points are stored as chunks, a row per batch (edge/storage/chunks.py), in a file that
edge/storage/buffer_file.py opens, checks, sets aside when damaged and keeps a reserve
for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from contract.errors import CirclemadeError
from contract.eventlog import log_event
from edge.storage import chunks, kpi_state
from edge.storage.buffer_file import DAMAGED, SOURCE, BufferFile
from edge.storage.chunks import Taken
from edge.storage.health import Health
from edge.storage.line_protocol import DRAFT

T = TypeVar("T")
BLOCKED = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")
"""SQLite's names for a disk that takes no more for now (the names' prefixes)."""


class BufferBlocked(CirclemadeError):
    """Nothing was appended, for now: the disk is full or below the free-space floor, or
    it has become read-only or failing. The caller keeps what it had and tries again."""

    def __init__(self, message: str, free_bytes: int) -> None:
        super().__init__(message)
        self.free_bytes = free_bytes


@dataclass(eq=False)
class Queue:
    """One store's share of the buffer: which measurements it receives, its bounds, and
    how much waits for it."""

    name: str = "influx"
    measurements: Sequence[str] | None = None
    """Unset: every line."""
    max_points: int = 5_000_000
    max_age_s: float = 7 * 86400
    health_source: str = SOURCE
    """Where its depth and drops are counted in ``edge_health``."""
    mark_drafts: bool = False
    """Whether its store is told which lines are drafts (:data:`DRAFT`)."""
    depth: int = 0
    last_drop_s: float | None = None
    dropping: bool = False
    appended: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._prefixes = None if self.measurements is None else tuple(
            name + end for name in self.measurements for end in (",", " "))

    def count_drops(self, count: int, health: Health, max_bytes: int) -> None:
        """Points dropped past a bound: counted, and told once per episode."""
        if count:
            self.last_drop_s = time.time()
            health.count(self.health_source, "buffer_dropped", count)
            if not self.dropping:
                self.dropping = True
                log_event("buffer.dropping_oldest", logging.ERROR, queue=self.name,
                          dropped=count, max_points=self.max_points,
                          max_bytes=max_bytes, max_age_s=self.max_age_s)
        elif self.dropping:
            self.dropping = False
            log_event("buffer.within_bounds", queue=self.name)

    def select(self, lines: Sequence[str], drafts: Sequence[str] = ()) -> list[str]:
        """The lines of the measurements this store receives, drafts last (marked if it
        asks)."""
        prefixes = self._prefixes
        if prefixes is None and not drafts:
            return list(lines)
        chosen, kept = (list(lines), list(drafts)) if prefixes is None else (
            [line for line in lines if line.startswith(prefixes)],
            [line for line in drafts if line.startswith(prefixes)])
        return chosen + [DRAFT + line for line in kept] if self.mark_drafts else chosen + kept


class DurableBuffer:
    def __init__(self, path: Path, health: Health, max_points: int = 5_000_000,
                 max_age_s: float = 7 * 86400, max_bytes: int = 2_000_000_000,
                 min_free_bytes: int = 50_000_000, fsync: bool = True,
                 queues: Sequence[Queue] = ()) -> None:
        """``queues``: one per store, the first being ``[influx]``; by default one queue
        of everything, bounded by ``max_points`` and ``max_age_s``."""
        self.path, self.health = path, health
        self.queues = {q.name: q for q in queues or [Queue(max_points=max_points,
                                                            max_age_s=max_age_s)]}
        self.max_bytes, self.min_free_bytes = max_bytes, min_free_bytes
        self.file = BufferFile(path, health, fsync, next(iter(self.queues)))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="buffer")
        self._counts: dict[str, int] = {}  # touched only in the buffer's thread
        self.state_version: str | None = None
        """The KPI state's format, written with it (also into a fresh file after a
        damaged one was set aside)."""

    @property
    def _db(self) -> sqlite3.Connection | None:
        return self.file.db

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._mending, function, *args)

    def _mending(self, function: Callable[..., T], *args: Any) -> T:
        """``function`` in the buffer's thread; a damaged file is set aside and the call
        made once more on a fresh one."""
        try:
            return function(*args)
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorname not in DAMAGED:
                raise
            self.file.set_aside(exc)
            self._counts = self.file.connect()
            return function(*args)

    @property
    def depth(self) -> int:
        """Points waiting, over every queue."""
        return sum(q.depth for q in self.queues.values())

    @property
    def last_drop_s(self) -> float | None:
        return max((q.last_drop_s for q in self.queues.values() if q.last_drop_s), default=None)

    def _set_depths(self, counts: dict[str, int]) -> None:
        for queue in self.queues.values():
            queue.depth = counts.get(queue.name, 0)
            self.health.set(queue.health_source, "buffer_depth", queue.depth)

    async def open(self) -> int:
        """Open (or create) the file; the number of points an earlier run left."""
        counts = await self._run(self._open)
        self._set_depths(counts)
        for queue in self.queues.values():
            if queue.depth:
                log_event("buffer.resumed", points=queue.depth, queue=queue.name,
                          path=str(self.path))
                queue.appended.set()
        orphans = {name: count for name, count in counts.items()
                   if name not in self.queues and count}
        if orphans:
            log_event("buffer.orphaned", logging.WARNING, path=str(self.path), points=orphans,
                      action="these stores are no longer configured: name one of them so "
                             "again to have its points written; left alone meanwhile")
        return self.depth

    def _open(self) -> dict[str, int]:
        self._counts = self.file.open(self.min_free_bytes)
        return dict(self._counts)

    async def append(self, lines: list[str], state: dict[str, bytes] | None = None,
                     drafts: Sequence[str] = ()) -> None:
        """Commit ``lines`` and the KPI ``state`` (machine -> memory) they leave behind, in
        one transaction, with the ``drafts`` (open windows as far as they go, which their
        final write replaces); :class:`BufferBlocked` (nothing stored) when the disk takes
        nothing for now."""
        await self.submit(lines, state, drafts)

    def submit(self, lines: list[str], state: dict[str, bytes] | None = None,
               drafts: Sequence[str] = ()) -> asyncio.Future[None]:
        """:meth:`append` begun now, to be awaited later: the buffer's thread commits in
        the order of submission, so a caller may go on working while its commit (and its
        fsync) runs."""
        if not (lines or state or drafts):
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        selected = {name: q.select(lines, drafts) for name, q in self.queues.items()}
        work = asyncio.get_running_loop().run_in_executor(
            self._executor, self._mending, self._append, selected, time.time_ns(), state or {})
        return asyncio.ensure_future(self._appended(work, selected))

    async def _appended(self, work: asyncio.Future[tuple[dict[str, int], dict[str, int]]],
                        selected: dict[str, list[str]]) -> None:
        counts, dropped = await work
        self._set_depths(counts)
        for name, queue in self.queues.items():
            queue.count_drops(dropped.get(name, 0), self.health, self.max_bytes)
        for name, queued in selected.items():
            if queued:
                self.queues[name].appended.set()

    async def load_state(self) -> tuple[str | None, dict[str, bytes]]:
        """The stored KPI state's format version (None if none was stored) and memory."""
        return await self._run(lambda: kpi_state.load(self._connection()))

    async def reset_state(self, version: str) -> None:
        """Forget the stored KPI state; what comes is of format ``version``."""
        self.state_version = version
        await self._run(lambda: kpi_state.reset(self._connection(), version))

    def _append(self, selected: dict[str, list[str]], now_ns: int, state: dict[str, bytes],
                ) -> tuple[dict[str, int], dict[str, int]]:
        """Each queue's lines in; (points per queue, points dropped per queue)."""
        assert self._db is not None
        db = self._db
        texts = {name: "\n".join(lines) for name, lines in selected.items() if lines}
        size = sum(len(text) for text in texts.values())
        free = self.file.free_bytes()
        if free - size < self.min_free_bytes:
            raise BufferBlocked(f"{self.path.parent}: {free:,} bytes free, below the floor "
                                f"of {self.min_free_bytes:,} ([buffer] min_free_bytes)", free)
        counts = dict(self._counts)
        dropped = dict.fromkeys(self.queues, 0)
        try:
            db.execute("BEGIN")
            for name, text in texts.items():
                db.execute("INSERT INTO chunks (sink, added_ns, count, lines) "
                           "VALUES (?, ?, ?, ?)", (name, now_ns, len(selected[name]), text))
                counts[name] = counts.get(name, 0) + len(selected[name])
            if state:
                kpi_state.store(db, state, self.state_version)
            for name, queue in self.queues.items():
                excess = counts.get(name, 0) - queue.max_points
                dropped[name] += chunks.drop_oldest(db, name, excess) if excess > 0 else 0
                dropped[name] += chunks.drop_older(db, name,
                                                   now_ns - int(queue.max_age_s * 1e9))
            for name, count in chunks.drop_beyond_bytes(db, self.file.page_size,
                                                        self.max_bytes).items():
                dropped[name] = dropped.get(name, 0) + count
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            if not (exc.sqlite_errorname or "").startswith(BLOCKED):
                raise
            free = shutil.disk_usage(self.path.parent).free
            raise BufferBlocked(f"{self.path}: {exc}", free) from None
        self._counts = {name: count - dropped.get(name, 0) for name, count in counts.items()}
        return dict(self._counts), dropped

    async def take(self, limit: int, queue: str | None = None) -> Taken | None:
        """Up to ``limit`` of the queue's oldest lines (None when empty; by default the
        first queue's); they stay until :meth:`delete_taken`."""
        name = queue or next(iter(self.queues))
        taken: Taken | None = await self._run(
            lambda: chunks.take(self._connection(), name, limit, self.file.generation))
        return taken

    async def take_newer(self, queue: str, after_chunk: int, limit: int) -> Taken | None:
        """Whole chunks of the queue newer than ``after_chunk``, up to about ``limit``
        lines (at least one chunk); for the sink's preview of live points, never
        deleted through this."""
        taken: Taken | None = await self._run(lambda: chunks.take_newer(
            self._connection(), queue, after_chunk, limit, self.file.generation))
        return taken

    async def newest_chunk(self, queue: str) -> int:
        """The id of the queue's newest chunk (0 when empty)."""
        newest: int = await self._run(lambda: chunks.newest_chunk(self._connection(), queue))
        return newest

    async def delete_taken(self, taken: Taken) -> None:
        depth = await self._run(self._delete_taken, taken)
        queue = self.queues[taken.queue]
        queue.depth = depth
        self.health.set(queue.health_source, "buffer_depth", depth)

    def _delete_taken(self, taken: Taken) -> int:
        if taken.generation != self.file.generation:
            return self._counts.get(taken.queue, 0)  # its file was set aside meanwhile
        deleted = self.file.delete(taken, self.min_free_bytes)
        count = self._counts[taken.queue] = max(0, self._counts.get(taken.queue, 0) - deleted)
        return count

    def _connection(self) -> sqlite3.Connection:
        assert self.file.db is not None
        return self.file.db

    async def close(self) -> None:
        if self._db is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor,
                                                             self.file.close_quietly)
        self._executor.shutdown(wait=True)
