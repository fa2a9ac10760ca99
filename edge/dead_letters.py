"""Dead letters: what the edge refused, kept for a person to look at.

One JSON object per line (time, source, topic, error, payload; base64 when binary,
truncated to 4 KiB), in a file next to the buffer. Bounded: past ``max_bytes`` the file
is moved to ``.1`` (replacing the previous one) and a new one started.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson

PAYLOAD_BYTES = 4096


class DeadLetters:
    def __init__(self, path: Path, max_bytes: int = 10_000_000) -> None:
        self.path, self.max_bytes = path, max_bytes
        self._pending: list[bytes] = []

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
        self._pending.append(orjson.dumps(entry))

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Append what was added (call through a thread: it is file I/O)."""
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > self.max_bytes:
            self.path.replace(self.path.with_name(self.path.name + ".1"))
        with self.path.open("ab") as file:
            file.write(b"\n".join(lines) + b"\n")
