"""Start-up: from ``circlemade run`` to the first point InfluxDB accepted, with 50
machines configured and their devices already sending (one message a second each).

The edge writes through bench/latency.py's proxy, which notes its first accepted write;
the edge's own log says when it had its MQTT session. Medians of a few starts.

    .venv/bin/python -m bench.startup [--machines 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from bench.harness import PacedPublisher, Servers, circlemade, forget_session, servers_running
from bench.latency import LatencyProxy
from bench.workload import Workshop

CLIENT_ID = "bench-startup"


def start_once(servers: Servers, machines: int, run: int) -> dict[str, float]:
    proxy = LatencyProxy(servers.influx.url).start()
    work = servers.root / f"startup-{run}"
    work.mkdir()
    (work / "edge.toml").write_text(Workshop(machines).config(
        servers.mqtt.port, {"api": "v1", "url": proxy.url, "database": "startup"},
        CLIENT_ID, 1, work / "buffer.sqlite"))
    started = time.time()
    service = circlemade(work / "edge.toml")
    service.wait_connected()
    deadline = time.monotonic() + 60
    while not proxy.first_write_ns and time.monotonic() < deadline:
        time.sleep(0.01)
    service.stop()
    forget_session(servers.mqtt.port, CLIENT_ID)
    if not proxy.first_write_ns:
        raise RuntimeError("no point written within 60 s of the start")
    return {"connected_s": service.connected_at - started,
            "first_point_s": proxy.first_write_ns / 1e9 - started}


def run(machines: int, runs: int) -> dict[str, Any]:
    with servers_running() as servers:
        devices = PacedPublisher(servers.mqtt.port, machines, machines, duration_s=3600)
        try:
            starts = [start_once(servers, machines, run) for run in range(runs)]
        finally:
            devices.process.terminate()
            devices.process.join()
    return {"machines": machines, "runs": runs,
            "connected_s": statistics.median(s["connected_s"] for s in starts),
            "first_point_s": statistics.median(s["first_point_s"] for s in starts),
            "first_point_runs_s": [round(s["first_point_s"], 3) for s in starts]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(run(args.machines, args.runs)))


if __name__ == "__main__":
    main()
