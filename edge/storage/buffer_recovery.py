"""``circlemade buffer recover FILE``: the points a damaged buffer file still holds.

The service sets a damaged buffer aside (``<name>.damaged-<time>``) and starts on a fresh
one; this reads the old one, chunk by chunk, so that one bad page costs only the chunks
on it. It works on a copy and never changes the file. A file cut short (a full disk, a
copy interrupted) is padded back to the size its header states: SQLite then reads every
row whose pages survived instead of refusing the whole file; a chunk that reads back with
the padding's zeros in it, or with fewer lines than it had, is left out whole. (SQLite's
own ``.recover`` gave up on such files in the tests, with "SQL logic error".)
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from contract.errors import CirclemadeError

MAGIC = b"SQLite format 3\x00"
GIVE_UP_AFTER = 10_000
"""Ids probed past the last readable chunk when the file no longer says how many it has."""


class NothingToRecover(CirclemadeError):
    """The file is not a SQLite database at all (its header is gone)."""


@dataclass
class Recovery:
    chunks_read: int = 0
    chunks_unreadable: int = 0
    points: int = 0


def recovered_lines(path: Path, recovery: Recovery) -> Iterator[str]:
    """The lines of every chunk that can still be read, oldest first; counts in
    ``recovery``."""
    with tempfile.TemporaryDirectory(prefix="circlemade-recover-") as folder:
        copy = Path(folder) / "buffer.sqlite"
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        _pad_to_header_size(copy)
        db = sqlite3.connect(copy)
        try:
            for lines in _chunks(db, recovery):
                recovery.points += len(lines)
                yield from lines
        finally:
            db.close()


def _pad_to_header_size(copy: Path) -> None:
    with copy.open("r+b") as file:
        header = file.read(100)
        if len(header) < 100 or not header.startswith(MAGIC):
            raise NothingToRecover("not a SQLite database: its header is missing or damaged")
        page_size = struct.unpack(">H", header[16:18])[0]
        page_size = 65536 if page_size == 1 else page_size
        pages = struct.unpack(">I", header[28:32])[0]
        file.seek(0, 2)
        if file.tell() < page_size * pages:
            file.truncate(page_size * pages)


def _chunks(db: sqlite3.Connection, recovery: Recovery) -> Iterator[list[str]]:
    try:
        db.execute("SELECT id, lines FROM chunks LIMIT 0")
    except sqlite3.DatabaseError as exc:
        raise NothingToRecover(f"its table of points cannot be read: {exc}") from None
    last = _last_id(db)
    chunk_id, misses = 0, 0
    while (last is not None and chunk_id < last) or (last is None and misses < GIVE_UP_AFTER):
        chunk_id += 1
        try:
            row = db.execute("SELECT count, lines FROM chunks WHERE id = ?",
                             (chunk_id,)).fetchone()
        except sqlite3.DatabaseError:
            recovery.chunks_unreadable += 1
            misses += 1
            continue
        if row is None:  # sent to InfluxDB and deleted before the damage
            misses += 1
            continue
        misses = 0
        lines = str(row[1]).split("\n")
        if "\x00" in row[1] or len(lines) != row[0]:  # pages lost: the padding shows
            recovery.chunks_unreadable += 1
            continue
        recovery.chunks_read += 1
        yield lines


def _last_id(db: sqlite3.Connection) -> int | None:
    for query in ("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'",
                  "SELECT max(id) FROM chunks"):
        try:
            row = db.execute(query).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row is not None and row[0] is not None:
            return int(row[0])
    return None
