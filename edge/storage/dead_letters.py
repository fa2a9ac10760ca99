"""Dead letters: what the edge refused, kept for a person to look at.

One JSON object per line (time, source, topic, error, payload; base64 when binary,
truncated to 4 KiB), in a file next to the buffer. Bounded: past ``max_bytes`` the file
is moved to ``.1`` (replacing the previous one) and a new one started. When the file
cannot be written (a read-only or full disk) the entries wait in memory, up to
``PENDING_MAX`` of them, and the next flush tries again: a dead letter must never stop
the service it was meant to keep running.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from contract.eventlog import describe, log_event
from edge.storage.health import Health

SOURCE = "dead_letters"

PAYLOAD_BYTES = 4096
PENDING_MAX = 10_000


class DeadLetters:
    def __init__(self, path: Path, health: Health | None = None,
                 max_bytes: int = 10_000_000) -> None:
        self.path, self.max_bytes = path, max_bytes
        self._health = health
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        """add() runs in the event loop, flush() in a worker thread."""
        self._failing = False

    def add(self, time_iso: str, source: str, topic: str, error: str,
            payload: bytes | None = None) -> None:
        entry: dict[str, Any] = {"time": time_iso, "source": source, "topic": topic,
                                 "error": error}
        if payload is not None:
            data = payload[:PAYLOAD_BYTES]
            try:
                entry["payload"] = data.decode("utf-8")
            except UnicodeDecodeError:
                entry["payload"], entry["encoding"] = base64.b64encode(data).decode(), "base64"
            if len(payload) > PAYLOAD_BYTES:
                entry["truncated_from"] = len(payload)
        with self._lock:
            self._pending.append(orjson.dumps(entry))
            lost = len(self._pending) > PENDING_MAX
            if lost:
                del self._pending[0]
        if lost and self._health is not None:
            self._health.count(SOURCE, "dead_letters_lost")

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Append what was added (call through a thread: it is file I/O)."""
        if not self._pending:
            return
        with self._lock:
            lines, self._pending = self._pending, []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.path.exists() and self.path.stat().st_size > self.max_bytes:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "ab") as file:  # payloads verbatim: the service's own
                file.write(b"\n".join(lines) + b"\n")
        except OSError as exc:
            if not self._failing:
                self._failing = True
                log_event("dead_letters.write_failed", logging.ERROR, path=str(self.path),
                          error=describe(exc), waiting=len(lines),
                          action=f"kept in memory (at most {PENDING_MAX:,}), tried again")
            with self._lock:
                self._pending[:0] = lines
                del self._pending[:-PENDING_MAX]
            return
        if self._failing:
            self._failing = False
            log_event("dead_letters.written_again", path=str(self.path), entries=len(lines))
