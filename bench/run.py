"""All benchmarks in one run: bench/results.json, then bench/results.md and results.png.

    scripts/bench            the full run (about 30 minutes: ten of them are the memory run)
    scripts/bench --quick    shorter everything, to try the machinery (about 6 minutes)

Progress goes to the terminal as it happens; every figure is a median where runs repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import (
    backlog,
    dashboards_scale,
    latency,
    memory,
    opcua_items,
    pi_capacity,
    replay,
    report,
    startup,
    throughput,
)
from bench.harness import REPO, servers_running
from bench.node_red import NODE_RED_DIR


@dataclass(frozen=True)
class Plan:
    messages: int
    runs: int
    latency_s: float
    memory_min: float
    opcua_items: list[int]
    opcua_s: float
    replay_h: float
    backlog_h: float
    startup_runs: int
    month_days: int
    durable_messages: int
    pi_machines: list[int]
    pi_s: float


FULL = Plan(messages=60_000, runs=3, latency_s=60.0, memory_min=10.0,
            opcua_items=[1000, 5000, 10000], opcua_s=60.0, replay_h=24.0, backlog_h=24.0,
            startup_runs=5, month_days=30, durable_messages=6000,
            pi_machines=[500, 1000, 1500, 2000, 2500, 3000], pi_s=40.0)
QUICK = Plan(messages=20_000, runs=1, latency_s=20.0, memory_min=2.0,
             opcua_items=[1000, 10000], opcua_s=20.0, replay_h=2.0, backlog_h=2.0,
             startup_runs=2, month_days=3, durable_messages=2000, pi_machines=[500, 1000],
             pi_s=15.0)


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return (result.stdout.strip() or result.stderr.strip()).splitlines()[0]


def _npm_version(folder: Path, package: str) -> str:
    try:
        return str(json.loads((folder / "node_modules" / package / "package.json").read_text())
                   ["version"])
    except OSError:
        return "not installed"


def environment() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    debian = Path("/etc/debian_version")
    packages = {name: metadata.version(name) for name in
                ("paho-mqtt", "asyncua", "influxdb-client", "aiohttp", "pydantic", "orjson")}
    debs = {name: _first_line(["dpkg-query", "-W", "-f", "${Version}", name])
            for name in ("mosquitto", "influxdb", "victoria-metrics")}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "cpu": f"{cpu}, {os.cpu_count()} cores", "memory_gib": round(memory_kb / 2**20, 1),
        "os": f"Debian {debian.read_text().strip()}" if debian.exists() else platform.platform(),
        "python": platform.python_version(), "python_packages": packages,
        "debian_packages": debs, "node": _first_line(["node", "--version"]),
        "node_red": _npm_version(NODE_RED_DIR, "node-red"),
        "node_red_contrib_influxdb": _npm_version(NODE_RED_DIR, "node-red-contrib-influxdb"),
        "node_opcua": _npm_version(REPO / ".cache" / "npm", "node-opcua"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    started = time.monotonic()

    def progress(text: str) -> None:
        print(f"[{(time.monotonic() - started) / 60:5.1f} min] {text}", flush=True)

    results: dict[str, Any] = {"environment": environment(), "plan": asdict(plan),
                               "quick": args.quick}
    progress(f"MQTT ingest: {len(throughput.CASES)} contenders x {plan.runs} run(s) of "
             f"{plan.messages:,} messages")
    results["throughput"] = [r.as_dict() for r in throughput.run(
        plan.messages, 50, plan.runs, progress=progress)]
    progress(f"a 20-message broker window, fast and slow disks: {plan.durable_messages:,} "
             "messages each")
    results["durable"] = [r.as_dict() for r in throughput.run(
        plan.durable_messages, 50, plan.runs, throughput.WINDOW_CASES, progress=progress)]
    progress(f"one Raspberry Pi 4 core: {plan.pi_machines} machines at 1 msg/s")
    results["pi_capacity"] = pi_capacity.run(plan.pi_s, plan.pi_machines)
    progress(f"  {results['pi_capacity']['capacity']:,} machines served")
    progress(f"latency at 2,000 msg/s for {plan.latency_s:g} s")
    results["latency"] = latency.run(2000, plan.latency_s, 50)
    progress(f"  p50 {results['latency']['p50_ms']:.0f} ms, p99 "
             f"{results['latency']['p99_ms']:.0f} ms")
    progress(f"OPC UA monitored items {plan.opcua_items}")
    results["opcua"] = opcua_items.run(plan.opcua_items, plan.opcua_s, progress)
    progress(f"replay of a recorded 20-machine workshop, {plan.replay_h:g} h")
    results["replay"] = replay.run(20, plan.replay_h, 1, progress)
    progress(f"  {results['replay']['messages']:,} messages in "
             f"{results['replay']['seconds']:.1f} s")
    progress(f"backlog: InfluxDB away for {plan.backlog_h:g} h of 20 machines, then back")
    with servers_running() as servers:
        results["backlog"] = backlog.measure(servers, 20, plan.backlog_h, 20.0)
    progress(f"  drained in {results['backlog']['drain_s']:.0f} s, live p99 "
             f"{results['backlog']['live_p99_ms']:,.0f} ms")
    progress(f"start-up with 50 machines, {plan.startup_runs} starts")
    results["startup"] = startup.run(50, plan.startup_runs)
    progress(f"  first point after {results['startup']['first_point_s']:.2f} s")
    progress(f"dashboards over 24 h, 7 and 30 days of {plan.month_days} days of 20 machines")
    results["dashboards"] = dashboards_scale.run(plan.month_days, 30)
    progress(f"  slowest panel: {results['dashboards']['slowest_s']}")
    progress(f"memory: 500 machines for {plan.memory_min:g} min")
    results["memory"] = memory.run(500, plan.memory_min, progress)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    report.write(results, args.out)
    progress(f"done: {args.out / 'results.md'} and {args.out / 'results.png'}")


if __name__ == "__main__":
    main()
