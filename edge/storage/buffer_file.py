"""The buffer's SQLite file: opened with its tables in WAL mode, checked, set aside when
damaged (for ``circlemade buffer recover``), and a reserve of disk room for deleting
written points when something else has filled the disk. The durable buffer
(edge/storage/buffer.py) decides what goes in and out; this is where it lives."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from contract.errors import CirclemadeError, Unavailable
from contract.eventlog import log_event
from edge.storage import chunks
from edge.storage.chunks import Taken
from edge.storage.health import Health

SOURCE = "buffer"
DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
"""SQLite's names for a file that is not (or no longer) a sound database."""
WAL_LIMIT_BYTES = 8_000_000
RESERVE_BYTES = 4_000_000
"""Disk space the buffer keeps in a file of its own, for deleting on a full disk."""


class BufferUnavailable(Unavailable):
    """The buffer cannot be used at all (its directory or file is not writable): a start
    error, with the path in the text."""


class Damaged(CirclemadeError, sqlite3.DatabaseError):
    """SQLite opened the file, but its own check finds it damaged inside."""

    sqlite_errorname = "SQLITE_CORRUPT"


class BufferFile:
    def __init__(self, path: Path, health: Health, fsync: bool, first_queue: str) -> None:
        self.path, self.health, self.fsync, self.first_queue = path, health, fsync, first_queue
        self.reserve_bytes = RESERVE_BYTES
        self._reserve = path.with_name(path.name + ".reserve")
        self.db: sqlite3.Connection | None = None
        self.generation = 0
        """How many files were set aside: what was taken from one is not deleted from
        the next."""
        self.page_size = 4096

    def open(self, min_free_bytes: int) -> dict[str, int]:
        """Open (or create) the file, checked; the points each queue holds."""
        self._check_access()
        counts = self.connect()
        assert self.db is not None
        check = self.db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":  # a file can open and still be damaged inside
            raise Damaged(f"quick_check: {check}")
        self.keep_reserve(min_free_bytes)
        return counts

    def keep_reserve(self, min_free_bytes: int) -> None:
        """The reserve file: disk space set aside for deleting written points when
        something else has filled the disk (a log, another program)."""
        if self._reserve.exists() or self.reserve_bytes <= 0:
            return
        if shutil.disk_usage(self.path.parent).free < 2 * self.reserve_bytes + min_free_bytes:
            return
        try:
            descriptor = os.open(self._reserve, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(descriptor, 0, self.reserve_bytes)
            finally:
                os.close(descriptor)
        except OSError:  # no room after all: tried again after the next delete
            self._reserve.unlink(missing_ok=True)

    def release_reserve(self) -> bool:
        if not self._reserve.exists():
            return False
        self._reserve.unlink()
        log_event("buffer.reserve_used", logging.WARNING, path=str(self._reserve),
                  freed_bytes=self.reserve_bytes,
                  action="the disk is full: written points are deleted with the reserved room")
        return True

    def delete(self, taken: Taken, min_free_bytes: int) -> int:
        """Delete what a store took (the points deleted); on a disk too full even for
        that (SQLite writes the deletion to its WAL first), the reserve file makes the
        room. Not synced: a deletion lost to a power cut only sends points again, and on
        a disk whose fsync takes milliseconds it would halve the commits."""
        try:
            deleted = self._delete(taken)
        except sqlite3.OperationalError as exc:
            if self.db is not None and self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            if exc.sqlite_errorname != "SQLITE_FULL" or not self.release_reserve():
                raise
            deleted = self._delete(taken)
        self.keep_reserve(min_free_bytes)
        return deleted

    def _delete(self, taken: Taken) -> int:
        assert self.db is not None
        if self.fsync:
            self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            return chunks.delete_taken(self.db, taken)
        finally:
            if self.fsync:
                self.db.execute("PRAGMA synchronous=FULL")

    def free_bytes(self) -> int:
        """Room for new chunks: the disk's free space and the pages free inside the file."""
        assert self.db is not None
        free_pages = int(self.db.execute("PRAGMA freelist_count").fetchone()[0])
        return shutil.disk_usage(self.path.parent).free + free_pages * self.page_size

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

    def connect(self) -> dict[str, int]:
        """Connect, with the tables made; the points each queue holds."""
        self.close_quietly()
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: each commit is on the disk before the broker hears the acknowledgement
            db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
            # a WAL grown during an outage shrinks back at its next checkpoint
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            self._make_tables(db)
            self.page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
            self.db = db
            self._adopt_points_table()
            counts = {name: int(count) for name, count in db.execute(
                "SELECT sink, sum(count) FROM chunks GROUP BY sink")}
        except sqlite3.DatabaseError as exc:
            self.close_quietly()
            if exc.sqlite_errorname in DAMAGED:
                raise
            raise BufferUnavailable(f"{self.path}: cannot open the buffer: {exc}") from None
        os.chmod(self.path, 0o600)  # points carry the workshop's data
        return counts

    def _make_tables(self, db: sqlite3.Connection) -> None:
        first = self.first_queue
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

    def close_quietly(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.db = None

    def set_aside(self, error: sqlite3.DatabaseError) -> None:
        """Move a damaged file (and its WAL) out of the way, keeping it for recovery."""
        self.close_quietly()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for path in (self.path, *self._companions()):
            if path.exists():
                path.replace(moved.with_name(moved.name + path.name[len(self.path.name):]))
        self.generation += 1
        self.health.count(SOURCE, "buffer_damaged")
        log_event("buffer.damaged", logging.ERROR, path=str(self.path), moved_to=str(moved),
                  error=str(error), action="started on a fresh file; "
                  f"'circlemade buffer recover {moved} -c CONFIG' writes what it still holds")

    def _adopt_points_table(self) -> None:
        """A buffer written by version 0.1 (a row per point) becomes chunks, in order."""
        assert self.db is not None
        db = self.db
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
