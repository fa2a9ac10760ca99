"""The service's status file and ``circlemade status``: what each source is doing.

The service rewrites ``<buffer>.status.json`` (atomically) every health interval: per
source whether it is connected, when its last message came, messages and errors; the
buffer depth and the last successful write. ``circlemade status -c FILE`` prints it and
exits 1 when the file is stale (the service is not running or its loop is stuck) or a
source is disconnected, so it can serve as a health check.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson


def status_path(buffer_path: Path) -> Path:
    return buffer_path.with_suffix(".status.json")


def write_status(path: Path, status: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps(status, option=orjson.OPT_INDENT_2))
    os.replace(temporary, path)


def read_status(path: Path, interval_s: float) -> tuple[int, list[str]]:
    """(exit code, lines to print)."""
    try:
        status = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        return 1, [f"no status at {path}: is the service running? ({exc})"]
    age = time.time() - float(status["written_s"])
    lines = [f"service pid {status['pid']}, up {status['uptime_s']:.0f} s, status written "
             f"{age:.0f} s ago",
             f"buffer: {status['buffer_depth']:.0f} points waiting; last write to InfluxDB: "
             f"{_ago(status.get('last_write_s'))}"]
    healthy = age < 3 * interval_s
    if not healthy:
        lines.append(f"STALE: older than {3 * interval_s:.0f} s")
    for name, source in sorted(status["sources"].items()):
        connected = source.get("connected")
        if connected is False:
            healthy = False
        state = {True: "connected", False: "DISCONNECTED", None: "-"}[connected]
        lines.append(f"  {name:<28} {state:<13} last message {_ago(source.get('last_message_s'))}"
                     f", {source.get('messages_in', 0):.0f} in, "
                     f"{source.get('decode_errors', 0):.0f} errors")
    return (0 if healthy else 1), lines


def _ago(stamp: float | None) -> str:
    return "never" if not stamp else f"{time.time() - stamp:.0f} s ago"
