"""OPC UA at scale: circlemade-edge subscribed to 1,000 to 10,000 monitored items at 1 Hz.

node-opcua (bench/opcua_load_server.js) serves ten machines whose variables all change
once a second; the edge subscribes to all of them (one session and subscription per
machine, publishing interval 1 s) and writes them to InfluxDB 1.x. After the
subscriptions are up and a warm-up, the service's CPU share and the notifications it
received (its ``messages_in`` counters, from its status file) are measured over a
window. Then the ceiling, bench/opcua_ceiling.py (a bare asyncua client that only counts
the same notifications), is measured against the same server, and the CPU per
notification of both is reported with their ratio.

    .venv/bin/python -m bench.opcua_items [--items 1000 5000 10000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import tomli_w

from bench.harness import REPO, Servers, circlemade, servers_running
from bench.process_stats import cpu_s, peak_rss_mb
from simulators import local_servers

MACHINES = 10
WARM_UP_S = 10.0
SIGNALS = ["progress_pct", "nozzle_temp_c", "nozzle_target_c", "bed_temp_c", "bed_target_c",
           "chamber_temp_c", "layer", "total_layers", "remaining_time_s", "spindle_speed_rpm",
           "spindle_override_pct", "feed_override_pct", "feed_rate_mm_min"]
NODE_MODULES = REPO / ".cache" / "npm" / "node_modules"


def config(endpoint: str, influx_url: str, items: int, buffer: Path) -> str:
    per_machine = items // MACHINES
    machines = [{"id": f"m{m:03d}", "kind": "other", "sources": [{
        "endpoint": endpoint, "profile": "opcua", "root": f"Load/M{m:03d}",
        "publishing_interval_ms": 1000, "sampling_interval_ms": 1000, "timeout_s": 120,
        "nodes": [{"path": f"V{v:04d}", "signal": SIGNALS[v % len(SIGNALS)]}
                  for v in range(per_machine)]}]} for m in range(MACHINES)]
    return tomli_w.dumps({"site": {"id": "bench"}, "health_interval_s": 2.0,
                          "influx": {"api": "v1", "url": influx_url, "database": "opcua"},
                          "buffer": {"path": str(buffer)}, "machines": machines})


def notifications(status_file: Path) -> tuple[float, int]:
    """(when written, notifications so far) from the service's status file."""
    status = orjson.loads(status_file.read_bytes())
    return status["written_s"], sum(int(s.get("messages_in", 0))
                                     for s in status["sources"].values())


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.5)


def measure(servers: Servers, items: int, seconds: float) -> dict[str, Any]:
    port = local_servers.free_port()
    server = subprocess.Popen(
        ["node", str(REPO / "bench" / "opcua_load_server.js"), str(port), str(MACHINES),
         str(items // MACHINES)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    try:
        assert server.stdout is not None
        endpoint = next(line for line in server.stdout if line.startswith("ready ")).split()[1]
        work = servers.root / f"opcua-{items}"
        work.mkdir()
        (work / "edge.toml").write_text(config(endpoint, servers.influx.url, items,
                                               work / "buffer.sqlite"))
        service = circlemade(work / "edge.toml")
        status = work / "buffer.status.json"
        try:
            wait_for(lambda: service.popen.poll() is not None or sum(
                '"opcua.connected"' in line for line in service.lines) >= MACHINES,
                300, "subscriptions")
            if service.popen.poll() is not None:
                raise TimeoutError
        except TimeoutError:
            service.stop()
            raise RuntimeError(f"{items} items: not all sessions subscribed; the edge said:\n"
                               + "".join(service.lines[-20:])) from None
        time.sleep(WARM_UP_S)
        pid = service.popen.pid
        written0, count0 = notifications(status)
        cpu0 = cpu_s(pid)
        time.sleep(seconds)
        cpu1 = cpu_s(pid)
        wait_for(lambda: notifications(status)[0] > time.time() - 1.0, 10, "status file")
        written1, count1 = notifications(status)
        rss = peak_rss_mb(pid)
        service.stop()
        ceiling = json.loads(subprocess.run(
            [sys.executable, "-m", "bench.opcua_ceiling", endpoint, str(MACHINES),
             str(items // MACHINES), str(seconds)], capture_output=True, text=True,
            check=True, cwd=REPO).stdout)
    finally:
        server.terminate()
        server.wait(30)
    rate = (count1 - count0) / (written1 - written0)
    us = 1e6 * (cpu1 - cpu0) / max(1, count1 - count0)
    return {"items": items, "notifications_per_s": rate,
            "cpu_pct": 100 * (cpu1 - cpu0) / seconds, "peak_rss_mb": rss,
            "cpu_us_per_notification": us,
            "ceiling_notifications_per_s": ceiling["notifications_per_s"],
            "ceiling_cpu_pct": ceiling["cpu_pct"],
            "ceiling_cpu_us_per_notification": ceiling["cpu_us_per_notification"],
            "cpu_per_notification_vs_ceiling": us / ceiling["cpu_us_per_notification"]}


def run(items: list[int], seconds: float, progress: Callable[[str], None] = print,
        ) -> list[dict[str, Any]]:
    results = []
    with servers_running() as servers:
        for count in items:
            results.append(measure(servers, count, seconds))
            found = results[-1]
            progress(f"  OPC UA {count:,} items: {found['notifications_per_s']:,.0f} "
                     f"notifications/s, CPU {found['cpu_pct']:.0f} % of a core, "
                     f"{found['cpu_us_per_notification']:.0f} us each; bare asyncua "
                     f"{found['ceiling_cpu_us_per_notification']:.0f} us: "
                     f"{found['cpu_per_notification_vs_ceiling']:.2f}x")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    for result in run(args.items, args.seconds):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
