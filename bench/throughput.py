"""MQTT ingest throughput: circlemade-edge, the bare paho ceiling and Node-RED, one run.

Every contender drains the same queue: its persistent session is made first, then the
workload (bench/workload.py, N messages of four real payload kinds and a last marker)
is published while it is away, then it connects and takes everything Mosquitto kept for
it. Time runs from its connection to the marker's point in the database (to its last
message, for the bare subscriber). Draining a queue measures the consumer alone: a live
publisher on this two-core box would compete with it for CPU and cap every contender at
the publisher's own rate, which is what the first ceiling measurements ran into.

    .venv/bin/python -m bench.throughput [--messages 60000] [--machines 50] [--runs 3]
    .venv/bin/python -m bench.throughput --fsync    # what the buffer's fsync costs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import node_red, slow_disk
from bench.harness import (
    REPO,
    TOKEN_ENV,
    Process,
    Servers,
    circlemade,
    forget_session,
    points_written,
    publish,
    servers_running,
)
from bench.process_stats import cpu_s, peak_rss_mb
from bench.workload import Workshop
from edge.storage.influxql import InfluxQL
from simulators import local_servers


@dataclass
class Case:
    contender: str  # "bare paho", "circlemade-edge", "Node-RED"
    qos: int
    sink: str  # "", "InfluxDB 1.x", "VictoriaMetrics"
    fsync: bool = True
    """circlemade-edge: the buffer's commits fsynced ([buffer] fsync)."""
    window: int = 0
    """Messages the broker lets wait for an acknowledgement (0: the harness's 1,000)."""
    disk_ms: int = 0
    """An fsync made this slow (bench/slow_disk); with it the bare subscriber acknowledges
    only after an fsync of its own."""
    durable: bool = False
    """The bare subscriber acknowledges after its fsync even on the fast disk."""

    @property
    def name(self) -> str:
        return (f"{self.contender}, QoS {self.qos}" + (f", {self.sink}" if self.sink else "")
                + ("" if self.fsync else ", fsync off")
                + (f", window {self.window}" if self.window else "")
                + (f", fsync {self.disk_ms} ms" if self.disk_ms else "")
                + (", acknowledging after fsync" if self.acks_after_fsync
                   and self.contender == "bare paho" else ""))

    @property
    def acks_after_fsync(self) -> bool:
        return self.durable or bool(self.disk_ms)


@dataclass
class Drain:
    seconds: float
    cpu_pct: float
    peak_rss_mb: float
    points: int


@dataclass
class CaseResult:
    case: Case
    messages: int
    runs: list[Drain] = field(default_factory=list)

    def median(self, what: Callable[[Drain], float]) -> float:
        return statistics.median(what(d) for d in self.runs)

    @property
    def msg_per_s(self) -> float:
        return self.median(lambda d: self.messages / d.seconds)

    def cpu_us(self, drain: Drain) -> float:
        """The contender's CPU per message, microseconds."""
        return drain.cpu_pct / 100 * drain.seconds / self.messages * 1e6

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.case.name, "contender": self.case.contender, "qos": self.case.qos,
                "sink": self.case.sink, "messages": self.messages,
                "window": self.case.window, "disk_ms": self.case.disk_ms,
                "msg_per_s": self.msg_per_s,
                "runs_msg_per_s": [self.messages / d.seconds for d in self.runs],
                "points_per_s": self.median(lambda d: d.points / d.seconds),
                "cpu_pct": self.median(lambda d: d.cpu_pct),
                "cpu_us_per_message": self.median(self.cpu_us),
                "peak_rss_mb": self.median(lambda d: d.peak_rss_mb)}


CASES = [
    Case("bare paho", 0, ""), Case("bare paho", 1, ""),
    Case("circlemade-edge", 0, "InfluxDB 1.x"), Case("circlemade-edge", 1, "InfluxDB 1.x"),
    Case("circlemade-edge", 1, "VictoriaMetrics"),
    Case("Node-RED", 0, "InfluxDB 1.x"), Case("Node-RED", 1, "InfluxDB 1.x"),
]
WINDOW_CASES = [case for window, disk_ms in ((20, 0), (20, 10), (20, 30))
                for case in (Case("bare paho", 1, "", window=window, disk_ms=disk_ms,
                                  durable=True),
                             Case("circlemade-edge", 1, "InfluxDB 1.x", window=window,
                                  disk_ms=disk_ms))]
"""A stock broker's window (Mosquitto's 20) on a fast disk and on slow ones (``--window``):
the edge against the bare subscriber that acknowledges after its own fsync."""
FSYNC_CASES = [Case("circlemade-edge", 1, "InfluxDB 1.x"),
               Case("circlemade-edge", 1, "InfluxDB 1.x", fsync=False)]
"""What committing durably before acknowledging costs (``--fsync``)."""


async def _influx_marker(url: str, database: str, sequence: int) -> bool:
    client = InfluxQL(url, database)
    try:
        series = await client.query(
            "SELECT last(layer) FROM telemetry WHERE machine = 'marker'")
    except Exception:
        return False
    finally:
        await client.close()
    return bool(series) and series[0].rows[0]["last"] == sequence


def _victoria_marker(url: str, sequence: int) -> bool:
    urllib.request.urlopen(url + "/internal/force_flush", timeout=5).close()
    query = urllib.parse.urlencode({"match[]": 'telemetry_layer{machine="marker"}'})
    with urllib.request.urlopen(f"{url}/api/v1/export?{query}", timeout=5) as response:
        values = [v for row in response.read().splitlines()
                  for v in json.loads(row)["values"]]
    return sequence in values


def wait_marker(servers: Servers, case: Case, database: str, sequence: int,
                process: Process) -> float:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{case.name} exited; its output:\n"
                               + "".join(process.lines[-30:]))
        found = (_victoria_marker(servers.victoria.url, sequence)
                 if case.sink == "VictoriaMetrics"
                 else asyncio.run(_influx_marker(servers.influx.url, database, sequence)))
        if found:
            return time.time()
        time.sleep(0.05)
    process.stop()
    raise TimeoutError(f"{case.name}: the marker never arrived; its output:\n"
                       + "".join(process.lines[-30:]))


def expected_points(workshop: Workshop, messages: int) -> int:
    """Points Node-RED's flow writes for the workload (two per printer status)."""
    per_topic = {m.data_topic: 2 if m.profile in ("bambu", "json") else 1
                 for m in workshop.machines}
    return sum(per_topic.get(topic, 0) for topic, _ in workshop.messages(messages)) + 2


def drain_once(servers: Servers, case: Case, workshop: Workshop, messages: int,
               sequence: int, on_connected: Callable[[Process], object] | None = None,
               ) -> Drain:
    """One drain; ``on_connected`` sees the contender's process once it is connected
    (bench/profile.py attaches py-spy there)."""
    work = servers.root / f"run-{sequence}"
    work.mkdir()
    broker = servers.broker(case.window)
    client_id = f"bench-{sequence}"
    database = f"bench_{sequence}"
    start = _starter(servers, case, workshop, messages, work, client_id, database)
    if case.contender != "bare paho":  # make the session, then go away
        first = start()
        first.wait_connected()
        time.sleep(0.5)
        first.stop()
    publish(broker.port, workshop, messages, sequence)
    process = start()
    process.wait_connected()
    if on_connected is not None:
        on_connected(process)
    pid = process.popen.pid
    cpu_before = cpu_s(pid)
    if case.contender == "bare paho":
        process.popen.wait(900)
        done = json.loads(next(line for line in process.lines if '"done"' in line))
        finished, cpu_after, rss = done["t"], done["cpu_s"], done["peak_rss_mb"]
        points = 0
    else:
        finished = wait_marker(servers, case, database, sequence, process)
        cpu_after, rss = cpu_s(pid), peak_rss_mb(pid)
        process.stop()
        points = (points_written(process) if case.contender == "circlemade-edge"
                  else expected_points(workshop, messages))
    forget_session(broker.port, client_id)
    seconds = finished - process.connected_at
    return Drain(seconds, 100 * (cpu_after - cpu_before) / seconds, rss, points)


def _starter(servers: Servers, case: Case, workshop: Workshop, messages: int, work: Path,
             client_id: str, database: str) -> Callable[[], Process]:
    """How to start the contender (prepared: its session, its database, its flows)."""
    start: Callable[[], Process]
    broker = servers.broker(case.window)
    env = slow_disk.environment(servers.root, case.disk_ms) if case.disk_ms else {}
    if case.contender == "bare paho":
        base = [sys.executable, str(REPO / "bench" / "bare_subscriber.py"), "--port",
                str(broker.port), "--client-id", client_id, "--qos", str(case.qos)]
        subprocess.run([*base, "--prepare"], check=True, capture_output=True, timeout=60)
        durable = ["--fsync-to", str(work / "received")] if case.acks_after_fsync else []
        def start() -> Process:
            return Process([*base, "--expect", str(messages + 1), *durable],
                           lambda line: '"connected"' in line, env=env)
    elif case.contender == "circlemade-edge":
        influx = ({"api": "v1", "url": servers.influx.url, "database": database}
                  if case.sink == "InfluxDB 1.x" else
                  {"api": "v2", "url": servers.victoria.url, "bucket": "bench", "org": "bench",
                   "token_env": TOKEN_ENV})
        config = work / "edge.toml"
        config.write_text(workshop.config(broker.port, influx, client_id, case.qos,
                                          work / "buffer.sqlite", case.fsync))
        def start() -> Process:
            return circlemade(config, env)
    else:
        influx_port = int(servers.influx.url.rsplit(":", 1)[1])
        flows = node_red.flow(workshop, servers.mqtt.port, influx_port, database, case.qos,
                              client_id)
        asyncio.run(_create_database(servers.influx.url, database))
        command = node_red.prepare(work / "node-red", flows, local_servers.free_port())
        def start() -> Process:
            return Process(command, lambda line: "Connected to broker" in line,
                           cwd=work / "node-red")
    return start


async def _create_database(url: str, database: str) -> None:
    client = InfluxQL(url, database)
    try:
        await client.query(f'CREATE DATABASE "{database}"')
    finally:
        await client.close()


def run(messages: int, machines: int, runs: int, cases: list[Case] = CASES,
        progress: Callable[[str], None] = print) -> list[CaseResult]:
    workshop = Workshop(machines)
    results = [CaseResult(case, messages) for case in cases]
    sequence = 0
    with servers_running() as servers:
        for run_index in range(runs):  # interleaved, so that drift hits every contender
            for result in results:
                sequence += 1
                drain = drain_once(servers, result.case, workshop, messages, sequence)
                result.runs.append(drain)
                progress(f"  run {run_index + 1}/{runs} {result.case.name}: "
                         f"{messages / drain.seconds:,.0f} msg/s, CPU {drain.cpu_pct:.0f} % "
                         f"({result.cpu_us(drain):.0f} us/message), "
                         f"peak RSS {drain.peak_rss_mb:.0f} MB")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fsync", action="store_true",
                        help="only circlemade-edge at QoS 1, with and without fsync")
    parser.add_argument("--window", action="store_true",
                        help="a 20-message broker window, on a fast disk and slow ones")
    args = parser.parse_args()
    cases = FSYNC_CASES if args.fsync else WINDOW_CASES if args.window else CASES
    for result in run(args.messages, args.machines, args.runs, cases):
        print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
