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

Points are stored as chunks: one row per appended batch, its lines joined by newlines.
A row per point cost a third of the service's CPU at 10,000 messages/s (binding and
reading each row holds the GIL; bench/README.md); a chunk costs one row whatever its
size. The sink takes lines across chunks and may take a chunk in part: it then keeps
only the chunk's tail, counted from the end so that a concurrent drop of the oldest
lines cannot make it delete lines it never wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from contract.errors import CirclemadeError, Unavailable
from contract.eventlog import log_event
from edge.storage.health import Health

T = TypeVar("T")
SOURCE = "buffer"
DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
"""SQLite's names for a file that is not (or no longer) a sound database."""
WAL_LIMIT_BYTES = 8_000_000
RESERVE_BYTES = 4_000_000
"""Disk space the buffer keeps in a file of its own, for deleting on a full disk."""
BLOCKED = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")
"""SQLite's names for a disk that takes no more for now (the names' prefixes)."""


class BufferUnavailable(Unavailable):
    """The buffer cannot be used at all (its directory or file is not writable): a start
    error, with the path in the text."""


class Damaged(CirclemadeError, sqlite3.DatabaseError):
    """SQLite opened the file, but its own check finds it damaged inside."""

    sqlite_errorname = "SQLITE_CORRUPT"


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
    depth: int = 0
    last_drop_s: float | None = None
    dropping: bool = False
    appended: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._prefixes = None if self.measurements is None else tuple(
            name + end for name in self.measurements for end in (",", " "))

    def select(self, lines: list[str]) -> list[str]:
        """The lines of the measurements this store receives."""
        prefixes = self._prefixes
        return lines if prefixes is None else [line for line in lines
                                               if line.startswith(prefixes)]


class Taken(NamedTuple):
    """Lines the sink took, and how to delete exactly them once they are written."""

    queue: str
    lines: list[str]
    last_chunk: int
    keep_last: int
    """Lines of ``last_chunk`` not taken (its tail)."""
    generation: int = 0
    """Which file they came from: a file set aside meanwhile has nothing to delete."""


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
        self.max_bytes, self.min_free_bytes, self.fsync = max_bytes, min_free_bytes, fsync
        self.reserve_bytes = RESERVE_BYTES
        self._reserve = path.with_name(path.name + ".reserve")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="buffer")
        self._db: sqlite3.Connection | None = None
        self._generation = 0
        self._page_size = 4096
        self._counts: dict[str, int] = {}  # touched only in the buffer's thread
        self.state_version: str | None = None
        """The KPI state's format, written with it (also into a fresh file after a
        damaged one was set aside)."""

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
            self._set_aside(exc)
            self._connect()
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
        self._check_access()
        self._connect()
        assert self._db is not None
        check = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":  # a file can open and still be damaged inside
            raise Damaged(f"quick_check: {check}")
        self._keep_reserve()
        return dict(self._counts)

    def _keep_reserve(self) -> None:
        """The reserve file: disk space set aside for deleting written points when
        something else has filled the disk (a log, another program)."""
        if self._reserve.exists() or self.reserve_bytes <= 0:
            return
        if shutil.disk_usage(self.path.parent).free < 2 * self.reserve_bytes + self.min_free_bytes:
            return
        try:
            descriptor = os.open(self._reserve, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(descriptor, 0, self.reserve_bytes)
            finally:
                os.close(descriptor)
        except OSError:  # no room after all: tried again after the next delete
            self._reserve.unlink(missing_ok=True)

    def _release_reserve(self) -> bool:
        if not self._reserve.exists():
            return False
        self._reserve.unlink()
        log_event("buffer.reserve_used", logging.WARNING, path=str(self._reserve),
                  freed_bytes=self.reserve_bytes,
                  action="the disk is full: written points are deleted with the reserved room")
        return True

    def _check_access(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise BufferUnavailable(f"{folder}: cannot create the buffer's directory: "
                                    f"{exc.strerror}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BufferUnavailable(f"{folder}: the buffer's directory is not writable by "
                                    f"this user (uid {os.getuid()})")
        for path in (self.path, *self._companions()):
            if path.exists() and not os.access(path, os.R_OK | os.W_OK):
                raise BufferUnavailable(f"{path}: the buffer's file is not readable and "
                                        f"writable by this user (uid {os.getuid()})")

    def _companions(self) -> list[Path]:
        return [self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm")]

    def _connect(self) -> None:
        self._close_quietly()
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: each commit is on the disk before the broker hears the acknowledgement
            db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
            # a WAL grown during an outage shrinks back at its next checkpoint
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            first = next(iter(self.queues))
            db.execute("CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY "
                       "AUTOINCREMENT, added_ns INTEGER NOT NULL, count INTEGER NOT NULL, "
                       f"lines TEXT NOT NULL, sink TEXT NOT NULL DEFAULT '{first}')")
            if "sink" not in {row[1] for row in db.execute("PRAGMA table_info(chunks)")}:
                # a file of one store (before [[sinks]]): its points are the first store's
                db.execute(f"ALTER TABLE chunks ADD COLUMN sink TEXT NOT NULL "
                           f"DEFAULT '{first}'")
            db.execute("CREATE INDEX IF NOT EXISTS chunks_by_sink ON chunks (sink, id)")
            db.execute("CREATE TABLE IF NOT EXISTS kpi_state (machine TEXT PRIMARY KEY, "
                       "state BLOB NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                       "value TEXT NOT NULL)")
            self._page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
            self._db = db
            self._adopt_points_table()
            self._counts = {name: int(count) for name, count in db.execute(
                "SELECT sink, sum(count) FROM chunks GROUP BY sink")}
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            if exc.sqlite_errorname in DAMAGED:
                raise
            raise BufferUnavailable(f"{self.path}: cannot open the buffer: {exc}") from None
        os.chmod(self.path, 0o600)  # points carry the workshop's data

    def _close_quietly(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _set_aside(self, error: sqlite3.DatabaseError) -> None:
        """Move a damaged file (and its WAL) out of the way, keeping it for recovery."""
        self._close_quietly()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for path in (self.path, *self._companions()):
            if path.exists():
                path.replace(moved.with_name(moved.name + path.name[len(self.path.name):]))
        self._generation += 1
        self.health.count(SOURCE, "buffer_damaged")
        log_event("buffer.damaged", logging.ERROR, path=str(self.path), moved_to=str(moved),
                  error=str(error), action="started on a fresh file; "
                  f"'circlemade buffer recover {moved} -c CONFIG' writes what it still holds")

    def _adopt_points_table(self) -> None:
        """A buffer written by version 0.1 (a row per point) becomes chunks, in order."""
        assert self._db is not None
        db = self._db
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'points'").fetchone():
            return
        db.execute("BEGIN")
        rows = db.execute("SELECT added_ns, line FROM points ORDER BY id").fetchall()
        for start in range(0, len(rows), 5000):
            part = rows[start:start + 5000]
            db.execute("INSERT INTO chunks (added_ns, count, lines) VALUES (?, ?, ?)",
                       (part[0][0], len(part), "\n".join(line for _, line in part)))
        db.execute("DROP TABLE points")
        db.execute("COMMIT")

    async def append(self, lines: list[str], state: dict[str, bytes] | None = None) -> None:
        """Commit ``lines`` and the KPI ``state`` (machine -> memory) they leave behind, in
        one transaction; :class:`BufferBlocked` (nothing stored) when the disk takes
        nothing for now."""
        if lines or state:
            selected = {name: q.select(lines) for name, q in self.queues.items()}
            counts, dropped = await self._run(self._append, selected, time.time_ns(),
                                              state or {})
            self._set_depths(counts)
            self._dropped(dropped)
            for name, queued in selected.items():
                if queued:
                    self.queues[name].appended.set()

    async def load_state(self) -> tuple[str | None, dict[str, bytes]]:
        """The stored KPI state's format version (None if none was stored) and memory."""
        return await self._run(self._load_state)

    def _load_state(self) -> tuple[str | None, dict[str, bytes]]:
        assert self._db is not None
        row = self._db.execute("SELECT value FROM meta WHERE key = 'kpi_state_version'"
                               ).fetchone()
        rows = self._db.execute("SELECT machine, state FROM kpi_state").fetchall()
        return (row[0] if row else None), {machine: bytes(state) for machine, state in rows}

    async def reset_state(self, version: str) -> None:
        """Forget the stored KPI state; what comes is of format ``version``."""
        await self._run(self._reset_state, version)

    def _reset_state(self, version: str) -> None:
        assert self._db is not None
        self.state_version = version
        db = self._db
        db.execute("BEGIN")
        db.execute("DELETE FROM kpi_state")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('kpi_state_version', ?)",
                   (version,))
        db.execute("COMMIT")

    def _free_bytes(self) -> int:
        """Room for new chunks: the disk's free space and the pages free inside the file."""
        assert self._db is not None
        free_pages = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        return shutil.disk_usage(self.path.parent).free + free_pages * self._page_size

    def _append(self, selected: dict[str, list[str]], now_ns: int, state: dict[str, bytes],
                ) -> tuple[dict[str, int], dict[str, int]]:
        """Each queue's lines in; (points per queue, points dropped per queue)."""
        assert self._db is not None
        db = self._db
        texts = {name: "\n".join(lines) for name, lines in selected.items() if lines}
        size = sum(len(text) for text in texts.values())
        free = self._free_bytes()
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
                db.executemany("INSERT OR REPLACE INTO kpi_state (machine, state) "
                               "VALUES (?, ?)", state.items())
                if self.state_version is not None:
                    db.execute("INSERT OR REPLACE INTO meta (key, value) "
                               "VALUES ('kpi_state_version', ?)", (self.state_version,))
            for name, queue in self.queues.items():
                excess = counts.get(name, 0) - queue.max_points
                dropped[name] += self._drop_oldest(name, excess) if excess > 0 else 0
                cutoff = now_ns - int(queue.max_age_s * 1e9)
                dropped[name] += int(db.execute(
                    "SELECT coalesce(sum(count), 0) FROM chunks WHERE sink = ? "
                    "AND added_ns < ?", (name, cutoff)).fetchone()[0])
                db.execute("DELETE FROM chunks WHERE sink = ? AND added_ns < ?", (name, cutoff))
            for name, count in self._drop_beyond_bytes().items():
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

    def _drop_beyond_bytes(self) -> dict[str, int]:
        """Past ``max_bytes`` of pages in use, the oldest chunks (of any queue) until it
        fits again; the points dropped per queue."""
        assert self._db is not None
        db = self._db
        pages, free_pages = (int(db.execute(f"PRAGMA {name}").fetchone()[0])
                             for name in ("page_count", "freelist_count"))
        excess = (pages - free_pages) * self._page_size - self.max_bytes
        dropped: dict[str, int] = {}
        if excess <= 0:
            return dropped
        for chunk_id, sink, count, size in db.execute(
                "SELECT id, sink, count, length(lines) FROM chunks ORDER BY id").fetchall():
            if excess <= 0:
                break
            db.execute("DELETE FROM chunks WHERE id = ?", (chunk_id,))
            dropped[sink] = dropped.get(sink, 0) + count
            excess -= size
        return dropped

    def _drop_oldest(self, queue: str, excess: int) -> int:
        """Delete the queue's ``excess`` oldest lines: whole chunks, then the head of the
        next."""
        assert self._db is not None
        dropped = 0
        for chunk_id, count, lines in self._db.execute(
                "SELECT id, count, lines FROM chunks WHERE sink = ? ORDER BY id",
                (queue,)).fetchall():
            if dropped + count <= excess:
                self._db.execute("DELETE FROM chunks WHERE id = ?", (chunk_id,))
                dropped += count
            else:
                self._keep_tail(chunk_id, lines.split("\n"), count - (excess - dropped))
                dropped = excess
            if dropped >= excess:
                break
        return dropped

    def _keep_tail(self, chunk_id: int, lines: list[str], keep: int) -> None:
        assert self._db is not None
        if keep <= 0:
            self._db.execute("DELETE FROM chunks WHERE id = ?", (chunk_id,))
        elif keep < len(lines):
            self._db.execute("UPDATE chunks SET count = ?, lines = ? WHERE id = ?",
                             (keep, "\n".join(lines[-keep:]), chunk_id))

    def _dropped(self, dropped: dict[str, int]) -> None:
        for name, queue in self.queues.items():
            count = dropped.get(name, 0)
            if count:
                queue.last_drop_s = time.time()
                self.health.count(queue.health_source, "buffer_dropped", count)
                if not queue.dropping:
                    queue.dropping = True
                    log_event("buffer.dropping_oldest", logging.ERROR, queue=name,
                              dropped=count, max_points=queue.max_points,
                              max_bytes=self.max_bytes, max_age_s=queue.max_age_s)
            elif queue.dropping:
                queue.dropping = False
                log_event("buffer.within_bounds", queue=name)

    async def take(self, limit: int, queue: str | None = None) -> Taken | None:
        """Up to ``limit`` of the queue's oldest lines (None when empty; by default the
        first queue's); they stay until :meth:`delete_taken`."""
        taken: Taken | None = await self._run(self._take, queue or next(iter(self.queues)),
                                              limit)
        return taken

    def _take(self, queue: str, limit: int) -> Taken | None:
        assert self._db is not None
        lines: list[str] = []
        cursor = self._db.execute("SELECT id, count, lines FROM chunks WHERE sink = ? "
                                  "ORDER BY id", (queue,))
        for chunk_id, count, text in cursor:
            chunk = text.split("\n")
            room = limit - len(lines)
            lines += chunk[:room]
            if count >= room:
                cursor.close()
                return Taken(queue, lines, chunk_id, max(0, count - room), self._generation)
        return Taken(queue, lines, chunk_id, 0, self._generation) if lines else None

    async def take_newer(self, queue: str, after_chunk: int, limit: int) -> Taken | None:
        """Whole chunks of the queue newer than ``after_chunk``, up to about ``limit``
        lines (at least one chunk); for the sink's preview of live points, never
        deleted through this."""
        taken: Taken | None = await self._run(self._take_newer, queue, after_chunk, limit)
        return taken

    def _take_newer(self, queue: str, after_chunk: int, limit: int) -> Taken | None:
        assert self._db is not None
        lines: list[str] = []
        last = after_chunk
        for chunk_id, text in self._db.execute(
                "SELECT id, lines FROM chunks WHERE sink = ? AND id > ? ORDER BY id",
                (queue, after_chunk)):
            if lines and len(lines) >= limit:
                break
            lines += text.split("\n")
            last = chunk_id
        return Taken(queue, lines, last, 0, self._generation) if lines else None

    async def newest_chunk(self, queue: str) -> int:
        """The id of the queue's newest chunk (0 when empty)."""
        newest: int = await self._run(self._newest_chunk, queue)
        return newest

    def _newest_chunk(self, queue: str) -> int:
        assert self._db is not None
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM chunks WHERE sink = ?",
                                    (queue,)).fetchone()[0])

    async def delete_taken(self, taken: Taken) -> None:
        depth = await self._run(self._delete_taken, taken)
        queue = self.queues[taken.queue]
        queue.depth = depth
        self.health.set(queue.health_source, "buffer_depth", depth)

    def _delete_taken(self, taken: Taken) -> int:
        """Delete what was written; on a disk too full even for that (SQLite writes the
        deletion to its WAL first), the reserve file makes the room."""
        try:
            count = self._delete(taken)
        except sqlite3.OperationalError as exc:
            if self._db is not None and self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            if exc.sqlite_errorname != "SQLITE_FULL" or not self._release_reserve():
                raise
            count = self._delete(taken)
        self._keep_reserve()
        return count

    def _delete(self, taken: Taken) -> int:
        assert self._db is not None
        queue = taken.queue
        if taken.generation != self._generation:
            return self._counts.get(queue, 0)  # its file was set aside: nothing of it is here
        db = self._db
        db.execute("BEGIN")
        before = int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks WHERE sink = ? "
                                "AND id <= ?", (queue, taken.last_chunk)).fetchone()[0])
        db.execute("DELETE FROM chunks WHERE sink = ? AND id < ?", (queue, taken.last_chunk))
        row = db.execute("SELECT count, lines FROM chunks WHERE id = ?",
                         (taken.last_chunk,)).fetchone()
        kept = 0
        if row is not None:
            kept = min(row[0], taken.keep_last)
            self._keep_tail(taken.last_chunk, row[1].split("\n") if kept else [], kept)
        db.execute("COMMIT")
        self._counts[queue] = max(0, self._counts.get(queue, 0) - (before - kept))
        return self._counts[queue]

    async def close(self) -> None:
        if self._db is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor,
                                                             self._close_quietly)
        self._executor.shutdown(wait=True)
