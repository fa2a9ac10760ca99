"""The ``chunks`` table of the buffer's file: one row per appended batch, its lines
joined by newlines, tagged with its store's queue (the ``sink`` column).

A row per point cost a third of the service's CPU at 10,000 messages/s (binding and
reading each row holds the GIL; bench/README.md); a chunk costs one row whatever its
size. The sink takes lines across chunks and may take a chunk in part: it then keeps
only the chunk's tail, counted from the end so that a concurrent drop of the oldest
lines cannot make it delete lines it never wrote. Every function here runs inside the
buffer's thread, in the caller's transaction where it writes."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class Taken(NamedTuple):
    """Lines the sink took, and how to delete exactly them once they are written."""

    queue: str
    lines: list[str]
    last_chunk: int
    keep_last: int
    """Lines of ``last_chunk`` not taken (its tail)."""
    generation: int = 0
    """Which file they came from: a file set aside meanwhile has nothing to delete."""


def drop_beyond_bytes(db: sqlite3.Connection, page_size: int, max_bytes: int,
                      ) -> dict[str, int]:
    """Past ``max_bytes`` of pages in use, the oldest chunks (of any queue) until it
    fits again; the points dropped per queue."""
    pages, free_pages = (int(db.execute(f"PRAGMA {name}").fetchone()[0])
                         for name in ("page_count", "freelist_count"))
    excess = (pages - free_pages) * page_size - max_bytes
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


def drop_oldest(db: sqlite3.Connection, queue: str, excess: int) -> int:
    """Delete the queue's ``excess`` oldest lines: whole chunks, then the head of the
    next."""
    dropped = 0
    for chunk_id, count, lines in db.execute(
            "SELECT id, count, lines FROM chunks WHERE sink = ? ORDER BY id",
            (queue,)).fetchall():
        if dropped + count <= excess:
            db.execute("DELETE FROM chunks WHERE id = ?", (chunk_id,))
            dropped += count
        else:
            keep_tail(db, chunk_id, lines.split("\n"), count - (excess - dropped))
            dropped = excess
        if dropped >= excess:
            break
    return dropped


def drop_older(db: sqlite3.Connection, queue: str, cutoff_ns: int) -> int:
    """Delete the queue's chunks appended before ``cutoff_ns``; the points dropped."""
    dropped = int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks WHERE sink = ? "
                             "AND added_ns < ?", (queue, cutoff_ns)).fetchone()[0])
    db.execute("DELETE FROM chunks WHERE sink = ? AND added_ns < ?", (queue, cutoff_ns))
    return dropped


def keep_tail(db: sqlite3.Connection, chunk_id: int, lines: list[str], keep: int) -> None:
    if keep <= 0:
        db.execute("DELETE FROM chunks WHERE id = ?", (chunk_id,))
    elif keep < len(lines):
        db.execute("UPDATE chunks SET count = ?, lines = ? WHERE id = ?",
                   (keep, "\n".join(lines[-keep:]), chunk_id))


def take(db: sqlite3.Connection, queue: str, limit: int, generation: int) -> Taken | None:
    """Up to ``limit`` of the queue's oldest lines."""
    lines: list[str] = []
    cursor = db.execute("SELECT id, count, lines FROM chunks WHERE sink = ? "
                        "ORDER BY id", (queue,))
    for chunk_id, count, text in cursor:
        chunk = text.split("\n")
        room = limit - len(lines)
        lines += chunk[:room]
        if count >= room:
            cursor.close()
            return Taken(queue, lines, chunk_id, max(0, count - room), generation)
    return Taken(queue, lines, chunk_id, 0, generation) if lines else None


def take_newer(db: sqlite3.Connection, queue: str, after_chunk: int, limit: int,
               generation: int) -> Taken | None:
    """Whole chunks of the queue newer than ``after_chunk``, up to about ``limit`` lines
    (at least one chunk)."""
    lines: list[str] = []
    last = after_chunk
    for chunk_id, text in db.execute(
            "SELECT id, lines FROM chunks WHERE sink = ? AND id > ? ORDER BY id",
            (queue, after_chunk)):
        if lines and len(lines) >= limit:
            break
        lines += text.split("\n")
        last = chunk_id
    return Taken(queue, lines, last, 0, generation) if lines else None


def newest_chunk(db: sqlite3.Connection, queue: str) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM chunks WHERE sink = ?",
                          (queue,)).fetchone()[0])


def delete_taken(db: sqlite3.Connection, taken: Taken) -> int:
    """Delete exactly what was taken, in one transaction; the points deleted."""
    queue = taken.queue
    db.execute("BEGIN")
    before = int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks WHERE sink = ? "
                            "AND id <= ?", (queue, taken.last_chunk)).fetchone()[0])
    db.execute("DELETE FROM chunks WHERE sink = ? AND id < ?", (queue, taken.last_chunk))
    row = db.execute("SELECT count, lines FROM chunks WHERE id = ?",
                     (taken.last_chunk,)).fetchone()
    kept = 0
    if row is not None:
        kept = min(row[0], taken.keep_last)
        keep_tail(db, taken.last_chunk, row[1].split("\n") if kept else [], kept)
    db.execute("COMMIT")
    return before - kept
