"""A day's backlog drained while the workshop goes on: InfluxDB away for a simulated 24 h
of a 20-machine workshop, then back.

circlemade-edge writes through a proxy that answers 503 while "InfluxDB is away"; the
workshop's day (20 machines, one message a second each: about 1.7 million messages,
dated over the last 24 h) is published and taken into the buffer. Then InfluxDB comes
back while the workshop sends live at its normal rate, and the benchmark measures how
long the backlog takes to drain, the live points' device -> InfluxDB latency (the first
acceptance of each live point sent after the sink's first write since InfluxDB came
back: the sink writes live points ahead of a backlog, then again in order), and the
service's RSS during the drain. How long the sink took to notice InfluxDB back (its
retry backoff, capped at ``retry_max_s``) is reported on its own.

    .venv/bin/python -m bench.backlog [--machines 20] [--hours 24] [--live-rate 20]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sqlite3
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from bench.harness import PacedPublisher, Servers, circlemade, forget_session, servers_running
from bench.latency import LatencyProxy, permille
from bench.process_stats import rss_mb
from bench.workload import MARKER_TOPIC, Workshop, marker_payload
from simulators.mqtt_publisher import Publisher

CLIENT_ID = "bench-backlog"
PART = 20_000


def waiting(buffer: Path) -> int:
    """Points in the buffer (SQLite lets a reader in beside the service)."""
    with contextlib.closing(sqlite3.connect(buffer, timeout=30)) as db:
        return int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0])


def holds_marker(buffer: Path) -> bool:
    with contextlib.closing(sqlite3.connect(buffer, timeout=30)) as db:
        return any("machine=marker" in row[0] for row in db.execute(
            "SELECT lines FROM chunks ORDER BY id DESC LIMIT 20"))


def received(status: Path) -> int:
    """Messages the service has taken so far, from its status file."""
    try:
        sources = json.loads(status.read_bytes())["sources"]
    except (OSError, ValueError):
        return 0
    return sum(int(s.get("messages_in", 0)) for s in sources.values())


def publish_day(port: int, workshop: Workshop, messages: int, status: Path) -> None:
    """The day's messages in parts of ``PART`` messages, each by a client of its own that
    waits for every acknowledgement, and each once the service has taken the part
    before: a broker's queue for one client is bounded (a million messages here), and
    a day published faster than the service takes it would overflow it. (One paho
    client stalled, waiting for acknowledgements, after about 65,000 messages in a row;
    ``mosquitto_pub -l`` was disconnected by Mosquitto, "out of memory".)"""
    day = workshop.messages(messages)
    sent = 0
    while part := list(itertools.islice(day, PART)):
        while received(status) < sent - PART:  # at most two parts ahead of the service
            time.sleep(0.2)
        publisher = Publisher("127.0.0.1", port, f"bench-backlog-day-{sent}")
        publisher.wait_connected()
        for topic, payload in part:
            publisher.publish(topic, payload, qos=1)
        publisher.close(timeout_s=600)
        sent += len(part)
        if sent % 200_000 < PART:
            print(f"backlog: {sent:,} of {messages:,} messages published", flush=True)
    publisher = Publisher("127.0.0.1", port, "bench-backlog-marker")
    publisher.wait_connected()
    publisher.publish(MARKER_TOPIC, marker_payload(1), qos=1)
    publisher.close()


def measure(servers: Servers, machines: int, hours: float, live_rate: float,
            ) -> dict[str, Any]:
    proxy = LatencyProxy(servers.influx.url).start()
    proxy.away = True
    work = servers.root / "backlog"
    work.mkdir()
    buffer = work / "buffer.sqlite"
    workshop = Workshop(machines)
    config = tomllib.loads(workshop.config(
        servers.mqtt.port, {"api": "v1", "url": proxy.url, "database": "backlog"},
        CLIENT_ID, 1, buffer))
    config["buffer"]["max_points"] = 50_000_000
    config["health_interval_s"] = 1.0  # its status file says promptly what it has taken
    (work / "edge.toml").write_text(tomli_w.dumps(config))
    service = circlemade(work / "edge.toml")  # takes the day into its buffer as it comes
    service.wait_connected()
    pid = service.popen.pid
    messages = int(machines * hours * 3600)
    started = time.monotonic()
    publish_day(servers.mqtt.port, workshop, messages, work / "buffer.status.json")
    while not holds_marker(buffer):
        time.sleep(1)
    backlog = waiting(buffer)
    filled_s = time.monotonic() - started
    print(f"backlog: {backlog:,} points waiting after {filled_s:.0f} s", flush=True)

    rss_before = rss_mb(pid)
    live_start_ns = time.time_ns()
    proxy.device_after_ns = live_start_ns
    live = PacedPublisher(servers.mqtt.port, machines, live_rate, duration_s=24 * 3600)
    proxy.away = False
    back_ns = time.time_ns()
    drain_started = time.monotonic()
    peak_rss, samples = rss_before, []
    while (left := waiting(buffer)) > 10 * machines:  # live traffic keeps a few waiting
        peak_rss = max(peak_rss, rss_mb(pid))
        samples.append((round(time.monotonic() - drain_started, 1), left))
        time.sleep(1)
    drained_s = time.monotonic() - drain_started
    print(f"backlog: drained in {drained_s:.0f} s", flush=True)
    time.sleep(10)  # ten more seconds of live traffic after the drain
    live.process.terminate()
    live.process.join()
    service.stop()
    forget_session(servers.mqtt.port, CLIENT_ID)
    latencies = proxy.latencies_ms
    cuts = permille(latencies) if len(latencies) > 1 else [float("nan")] * 999
    return {"machines": machines, "hours": hours, "messages": messages,
            "backlog_points": backlog, "fill_s": filled_s, "drain_s": drained_s,
            "noticed_back_s": (proxy.first_write_ns - back_ns) / 1e9,
            "drain_points_per_s": backlog / drained_s, "live_rate": live_rate,
            "live_samples": len(latencies), "live_p50_ms": cuts[499],
            "live_p99_ms": cuts[989], "live_max_ms": max(latencies, default=float("nan")),
            "rss_before_drain_mb": rss_before, "rss_peak_drain_mb": peak_rss,
            "drain_curve": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machines", type=int, default=20)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--live-rate", type=float, default=20.0,
                        help="live messages/s while the backlog drains (default: one a "
                             "second per machine)")
    args = parser.parse_args()
    with servers_running() as servers:
        result = measure(servers, args.machines, args.hours, args.live_rate)
    result.pop("drain_curve")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
