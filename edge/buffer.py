"""The durable outbox: line protocol points on disk (SQLite in WAL mode) between the
pipeline and InfluxDB.

A point is appended (and committed) before the MQTT message it came from is acknowledged,
and deleted only after InfluxDB accepted it, so neither an outage nor a SIGKILL loses
it; a restarted service first drains what the last run left. The buffer is bounded by
``max_points`` and ``max_age_s``; past a bound the oldest points are dropped, counted in
``edge_health`` (``buffer_dropped``) and logged once per episode.

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
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from edge.eventlog import log_event
from edge.health import Health

T = TypeVar("T")
SOURCE = "buffer"


class Taken(NamedTuple):
    """Lines the sink took, and how to delete exactly them once they are written."""

    lines: list[str]
    last_chunk: int
    keep_last: int
    """Lines of ``last_chunk`` not taken (its tail)."""


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
        db.execute("CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                   " added_ns INTEGER NOT NULL, count INTEGER NOT NULL, lines TEXT NOT NULL)")
        self._db = db
        self._adopt_points_table()
        self._count = int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0])
        return self._count

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

    async def append(self, lines: list[str]) -> None:
        if lines:
            self.depth = await self._run(self._append, lines, time.time_ns())
            self.health.set(SOURCE, "buffer_depth", self.depth)
            self.appended.set()

    def _append(self, lines: list[str], now_ns: int) -> int:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN")
        db.execute("INSERT INTO chunks (added_ns, count, lines) VALUES (?, ?, ?)",
                   (now_ns, len(lines), "\n".join(lines)))
        depth = self._count + len(lines)
        dropped = self._drop_oldest(depth - self.max_points) if depth > self.max_points else 0
        cutoff = now_ns - int(self.max_age_s * 1e9)
        dropped += int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks "
                                  "WHERE added_ns < ?", (cutoff,)).fetchone()[0])
        db.execute("DELETE FROM chunks WHERE added_ns < ?", (cutoff,))
        db.execute("COMMIT")
        self._dropped(dropped)
        self._count = depth - dropped
        return self._count

    def _drop_oldest(self, excess: int) -> int:
        """Delete the ``excess`` oldest lines: whole chunks, then the head of the next."""
        assert self._db is not None
        dropped = 0
        for chunk_id, count, lines in self._db.execute(
                "SELECT id, count, lines FROM chunks ORDER BY id").fetchall():
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

    async def take(self, limit: int) -> Taken | None:
        """Up to ``limit`` of the oldest lines (None when empty); they stay until
        :meth:`delete_taken`."""
        taken: Taken | None = await self._run(self._take, limit)
        return taken

    def _take(self, limit: int) -> Taken | None:
        assert self._db is not None
        lines: list[str] = []
        cursor = self._db.execute("SELECT id, count, lines FROM chunks ORDER BY id")
        for chunk_id, count, text in cursor:
            chunk = text.split("\n")
            room = limit - len(lines)
            lines += chunk[:room]
            if count >= room:
                cursor.close()
                return Taken(lines, chunk_id, max(0, count - room))
        return Taken(lines, chunk_id, 0) if lines else None

    async def delete_taken(self, taken: Taken) -> None:
        self.depth = await self._run(self._delete_taken, taken)
        self.health.set(SOURCE, "buffer_depth", self.depth)

    def _delete_taken(self, taken: Taken) -> int:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN")
        before = int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks WHERE id <= ?",
                                (taken.last_chunk,)).fetchone()[0])
        db.execute("DELETE FROM chunks WHERE id < ?", (taken.last_chunk,))
        row = db.execute("SELECT count, lines FROM chunks WHERE id = ?",
                         (taken.last_chunk,)).fetchone()
        kept = 0
        if row is not None:
            kept = min(row[0], taken.keep_last)
            self._keep_tail(taken.last_chunk, row[1].split("\n") if kept else [], kept)
        db.execute("COMMIT")
        self._count = max(0, self._count - (before - kept))
        return self._count

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)
