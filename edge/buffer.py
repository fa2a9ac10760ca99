"""The durable outbox: line protocol points on disk (SQLite in WAL mode) between the
pipeline and InfluxDB.

A point is appended (and committed) before the MQTT message it came from is acknowledged,
and deleted only after InfluxDB accepted it, so neither an outage nor a SIGKILL loses
it; a restarted service first drains what the last run left. The buffer is bounded by
``max_points`` and ``max_age_s``; past a bound the oldest points are dropped, counted in
``edge_health`` (``buffer_dropped``) and logged once per episode.

All SQLite work runs in one dedicated thread, so the event loop never blocks on disk and
the connection is only ever used from one thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from edge.eventlog import log_event
from edge.health import Health

T = TypeVar("T")
SOURCE = "buffer"


class DurableBuffer:
    def __init__(self, path: Path, health: Health, max_points: int = 5_000_000,
                 max_age_s: float = 7 * 86400) -> None:
        self.path, self.health = path, health
        self.max_points, self.max_age_s = max_points, max_age_s
        self.appended = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="buffer")
        self._db: sqlite3.Connection | None = None
        self._dropping = False
        self._count = 0  # touched only in the buffer's thread
        self.depth = 0

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def open(self) -> int:
        """Open (or create) the file; the number of points an earlier run left."""
        self.depth = await self._run(self._open)
        self.health.set(SOURCE, "buffer_depth", self.depth)
        if self.depth:
            log_event("buffer.resumed", points=self.depth, path=str(self.path))
            self.appended.set()
        return self.depth

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        db.execute("CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                   " added_ns INTEGER NOT NULL, line TEXT NOT NULL)")
        self._db = db
        self._count = int(db.execute("SELECT count(*) FROM points").fetchone()[0])
        return self._count

    async def append(self, lines: list[str]) -> None:
        if lines:
            self.depth = await self._run(self._append, lines, time.time_ns())
            self.health.set(SOURCE, "buffer_depth", self.depth)
            self.appended.set()

    def _append(self, lines: list[str], now_ns: int) -> int:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN")
        db.executemany("INSERT INTO points (added_ns, line) VALUES (?, ?)",
                       [(now_ns, line) for line in lines])
        depth = self._count + len(lines)
        dropped = 0
        if depth > self.max_points:
            dropped += db.execute(
                "DELETE FROM points WHERE id IN (SELECT id FROM points ORDER BY id LIMIT ?)",
                (depth - self.max_points,)).rowcount
        dropped += db.execute("DELETE FROM points WHERE added_ns < ?",
                              (now_ns - int(self.max_age_s * 1e9),)).rowcount
        db.execute("COMMIT")
        self._dropped(dropped)
        self._count = depth - dropped
        return self._count

    def _dropped(self, count: int) -> None:
        if count:
            self.health.count(SOURCE, "buffer_dropped", count)
            if not self._dropping:
                self._dropping = True
                log_event("buffer.dropping_oldest", logging.ERROR, dropped=count,
                          max_points=self.max_points, max_age_s=self.max_age_s)
        elif self._dropping:
            self._dropping = False
            log_event("buffer.within_bounds")

    async def peek(self, limit: int) -> list[tuple[int, str]]:
        rows: list[tuple[int, str]] = await self._run(self._peek, limit)
        return rows

    def _peek(self, limit: int) -> list[tuple[int, str]]:
        assert self._db is not None
        return list(self._db.execute("SELECT id, line FROM points ORDER BY id LIMIT ?",
                                     (limit,)))

    async def delete_through(self, last_id: int) -> None:
        """Delete the oldest points up to ``last_id``: what :meth:`peek` returned, since
        ids only grow and the sink takes each peek whole (one range, not one per row)."""
        self.depth = await self._run(self._delete_through, last_id)
        self.health.set(SOURCE, "buffer_depth", self.depth)

    def _delete_through(self, last_id: int) -> int:
        assert self._db is not None
        removed = self._db.execute("DELETE FROM points WHERE id <= ?", (last_id,)).rowcount
        self._count = max(0, self._count - int(removed))
        return self._count

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)
