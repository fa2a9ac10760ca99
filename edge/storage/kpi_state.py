"""The KPI stage's memory in the buffer's file: the ``kpi_state`` table (one row per
machine) and its format's version in ``meta``. It is written in the transaction of the
points it produced, so after a SIGKILL or a power cut the memory and the points agree."""

from __future__ import annotations

import sqlite3


def load(db: sqlite3.Connection) -> tuple[str | None, dict[str, bytes]]:
    """The stored format version (None if none was stored) and each machine's memory."""
    row = db.execute("SELECT value FROM meta WHERE key = 'kpi_state_version'").fetchone()
    rows = db.execute("SELECT machine, state FROM kpi_state").fetchall()
    return (row[0] if row else None), {machine: bytes(state) for machine, state in rows}


def reset(db: sqlite3.Connection, version: str) -> None:
    db.execute("BEGIN")
    db.execute("DELETE FROM kpi_state")
    store_version(db, version)
    db.execute("COMMIT")


def store(db: sqlite3.Connection, state: dict[str, bytes], version: str | None) -> None:
    """Inside the caller's transaction."""
    db.executemany("INSERT OR REPLACE INTO kpi_state (machine, state) VALUES (?, ?)",
                   state.items())
    if version is not None:
        store_version(db, version)


def store_version(db: sqlite3.Connection, version: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('kpi_state_version', ?)",
               (version,))
