"""The service's status file and ``circlemade status``: what each source is doing.

The service rewrites ``<buffer>.status.json`` (atomically) every health interval: per
source whether it is connected, when its last message came, messages and errors; the
buffer depth and the last successful write. ``circlemade status -c FILE`` prints it and
exits 1 when something needs a person (see :func:`read_status`), so it can serve as a
health check. A clean stop writes a last status that says so. It reads only the file:
it needs none of the service's secrets.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson

from edge.service.config import StatusSettings
from edge.storage.buffer import DurableBuffer
from edge.storage.health import Health
from edge.storage.settings import Influx
from edge.storage.sink import InfluxSink
from gateways.gateway import Gateway


def status_path(buffer_path: Path) -> Path:
    return buffer_path.with_suffix(".status.json")


def write_status(path: Path, status: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps(status, option=orjson.OPT_INDENT_2))
    os.chmod(temporary, 0o600)  # the service's own, whatever the umask
    os.replace(temporary, path)


def read_status(path: Path, interval_s: float, limits: StatusSettings | None = None,
                ) -> tuple[int, list[str]]:
    """(exit code, lines to print): 1 when the file is stale, a source is disconnected,
    a store refuses the credentials or has failed for too long, the buffer is nearly full
    or dropped points, or a task of the service crashed."""
    limits = limits or StatusSettings()
    try:
        status = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        return 1, [f"no status at {path}: is the service running? ({exc})"]
    now = time.time()
    stores = status["sinks"]
    stopped = status.get("stopped_s")
    if stopped:
        writes = ", ".join(f"{name} {_ago(store.get('last_write_s'))}"
                           for name, store in sorted(stores.items()))
        return 1, [f"service pid {status['pid']} STOPPED {now - stopped:.0f} s ago, after "
                   f"{status['uptime_s']:.0f} s; buffer: {status['buffer_depth']:.0f} points "
                   f"left for its next start; last write: {writes}"]
    age = now - float(status["written_s"])
    depth, bound = status["buffer_depth"], status.get("buffer_max_points") or 0
    lines = [f"service pid {status['pid']}, up {status['uptime_s']:.0f} s, status written "
             f"{age:.0f} s ago",
             f"buffer: {depth:.0f} points waiting" + (f" ({depth / bound:.0%} of its bound)"
                                                       if bound else "")]
    problems = []
    if age >= 3 * interval_s:
        problems.append(f"STALE: older than {3 * interval_s:.0f} s")
    for name, store in sorted(stores.items()):
        lines.append(_store_line(name, store, now))
        problems.extend(_store_problems(name, store, now, limits))
    if bound and depth > limits.max_buffer_share * bound:
        problems.append(f"BUFFER above {limits.max_buffer_share:.0%} of max_points")
    if status.get("buffer_full"):
        problems.append("BUFFER FULL: its disk has no room; messages are held at the broker")
    last_drop = status.get("buffer_last_drop_s")
    if last_drop and now - last_drop < limits.dropped_within_s:
        problems.append(f"DROPPED {status.get('buffer_dropped', 0):.0f} points past the "
                        f"buffer's bounds, the last {now - last_drop:.0f} s ago")
    for task, crash in sorted(status.get("crashes", {}).items()):
        problems.append(f"CRASHED: task {task} {now - crash['at_s']:.0f} s ago "
                        f"({crash['error']}); restarted")
    for name, source in sorted(status["sources"].items()):
        connected = source.get("connected")
        if connected is False:
            problems.append(f"DISCONNECTED: {name}")
        state = {True: "connected", False: "DISCONNECTED", None: "-"}[connected]
        lines.append(f"  {name:<28} {state:<13} last message {_ago(source.get('last_message_s'))}"
                     f", {source.get('messages_in', 0):.0f} in, "
                     f"{source.get('decode_errors', 0):.0f} errors")
    return (1 if problems else 0), lines + problems


def _store_line(name: str, store: dict[str, Any], now: float) -> str:
    """One line per store: its queue, its last write, and why it fails while it does."""
    failing_since = store.get("failing_since_s")
    return (f"  store {name:<20} {store['depth']:.0f} waiting "
            f"({store['depth'] / store['max_points']:.0%} of its bound), last write "
            f"{_ago(store.get('last_write_s'))}"
            + (f", FAILING for {now - failing_since:.0f} s: {store['last_error']}"
               if failing_since else "") + f"  {store['url']}")


def _store_problems(name: str, store: dict[str, Any], now: float, limits: StatusSettings,
                    ) -> list[str]:
    """A refused login fails at once (waiting will not heal it); other errors after
    ``max_write_failure_s`` (a restart of the store may take minutes)."""
    failing_since = store.get("failing_since_s")
    if not failing_since:
        return []
    if store.get("refused"):
        return [f"REFUSED: store {name} refuses the edge's credentials or rights "
                f"({store['last_error']}); waiting will not heal it"]
    if now - failing_since > limits.max_write_failure_s:
        return [f"STORE FAILING: {name} for more than {limits.max_write_failure_s:.0f} s "
                f"({store['last_error']})"]
    return []


def _ago(stamp: float | None) -> str:
    return "never" if not stamp else f"{time.time() - stamp:.0f} s ago"


def service_status(started_s: float, health: Health, gateways: list[Gateway],
                   stores: list[tuple[InfluxSink, Influx]], buffer: DurableBuffer,
                   buffer_full: bool, crashes: dict[str, tuple[float, str]],
                   ) -> dict[str, Any]:
    """What the status file says: each store's queue and writes, each source's counters
    and connection, the supervised tasks' crashes."""
    sources: dict[str, dict[str, Any]] = {
        source: dict(fields) for source, fields in health.snapshot().items()}
    for gateway in gateways:
        sources.setdefault(gateway.status_key, {})["connected"] = gateway.connected.is_set()
    shown = {}
    for sink, store in stores:
        counters = sources.pop(sink.source, {})
        queue = buffer.queues[sink.queue]
        shown[sink.queue] = {
            "url": store.url, "depth": queue.depth, "max_points": queue.max_points,
            "dropped": health.get(queue.health_source, "buffer_dropped"),
            "last_drop_s": queue.last_drop_s,
            "last_write_s": counters.get("last_write_s"),
            "points_written": counters.get("points_written", 0),
            "failing_since_s": sink.failing_since_s, "last_error": sink.last_error,
            "refused": sink.refused,
            "dead_letters": counters.get("dead_letters", 0)}
    for own in ("buffer", "service", "ingest", "dead_letters"):
        sources.pop(own, None)
    return {"pid": os.getpid(), "written_s": time.time(), "uptime_s": time.time() - started_s,
            **summary(shown), "buffer_full": buffer_full, "sinks": shown,
            "crashes": {name: {"at_s": at, "error": error}
                        for name, (at, error) in crashes.items()},
            "sources": sources}


def summary(stores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The status's headline over every store: the queue nearest its bound, the oldest
    outage and last write, every drop (what ``status`` and the edge alerts check)."""
    fullest = max(stores.values(), key=lambda s: s["depth"] / s["max_points"])
    failing = [(s["failing_since_s"], name) for name, s in stores.items()
               if s["failing_since_s"] is not None]
    since, name = min(failing) if failing else (None, "")
    error = stores[name]["last_error"] if name else next(
        (s["last_error"] for s in stores.values() if s["last_error"]), "")
    writes = [s["last_write_s"] for s in stores.values()]
    drops = [s["last_drop_s"] for s in stores.values() if s["last_drop_s"]]
    return {"buffer_depth": fullest["depth"], "buffer_max_points": fullest["max_points"],
            "buffer_dropped": sum(s["dropped"] for s in stores.values()),
            "buffer_last_drop_s": max(drops, default=None),
            "last_write_s": None if None in writes else min(writes),
            "write_failing_since_s": since,
            "last_write_error": f"{name}: {error}" if name and len(stores) > 1 else error,
            "dead_letters": sum(s["dead_letters"] for s in stores.values())}
