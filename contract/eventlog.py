"""Machine-readable logs: one JSON object per line, one line per event.

``log_event("mqtt.connected", broker="main")`` writes
``{"ts":"2026-11-22T20:41:07.123Z","level":"info","event":"mqtt.connected","broker":"main"}``.
Bad input is logged through :class:`Throttle`, so a device that sends garbage ten times a
second gives one line per minute with a count, not a flood.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

_logger = logging.getLogger("circlemade")


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", record.getMessage()),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextLineFormatter(logging.Formatter):
    """``2026-11-22T21:40:31.915Z info mqtt.connected broker=main port=1883``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        event = getattr(record, "event", record.getMessage())
        return f"{stamp.replace('+00:00', 'Z')} {record.levelname.lower()} {event} {fields}"


def setup_logging(level: str = "info", stream: TextIO | None = None,
                  fmt: str = "json") -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else TextLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    _logger.setLevel(level.upper())
    # asyncua warns about every reconnect in its own words; the gateway says it once
    logging.getLogger("asyncua").setLevel(logging.ERROR)


def describe(error: BaseException) -> str:
    """An exception for a log line: its type and text, and never an empty text
    (``TimeoutError()`` says nothing by itself)."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else f"{type(error).__name__} (no detail)"


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    _logger.log(level, event, extra={"event": event, "fields": fields})


class Throttle:
    """Logs the first occurrence of a key at once, then at most one summary per period."""

    def __init__(self, period_s: float = 60.0) -> None:
        self._period = period_s
        self._state: dict[str, tuple[float, int]] = {}

    def event(self, key: str, event: str, level: int = logging.WARNING, **fields: Any) -> None:
        now = time.monotonic()
        last, suppressed = self._state.get(key, (float("-inf"), 0))
        if now - last >= self._period:
            if suppressed:
                fields["suppressed_since_last"] = suppressed
            log_event(event, level, **fields)
            self._state[key] = (now, 0)
        else:
            self._state[key] = (last, suppressed + 1)
