"""How many machines one Raspberry Pi 4 core serves: the edge, Mosquitto and InfluxDB 1.x
together held to a Pi 4 core's worth of this machine's CPU, each machine sending one
message a second, live.

The budget: ``sysbench cpu --threads=1 --time=20 run`` (sysbench 1.0.20, primes to
10,000) on this machine, against the published 1,477.83 events/s of a Raspberry Pi 4 on
the same benchmark and version (leoncode.co.uk, "Raspberry Pi CPU Benchmarks"); their
ratio sets a cgroup CPU quota (``cpu.cfs_quota_us``) for the three servers. The
devices (a paced publisher) and the latency proxy run outside it. A number of machines
is served when the live latency from the device's time to InfluxDB's acceptance has a
p99 under 1 s and does not grow (the last third's p99 under 1 s too: no backlog builds
up), the devices sending at their rate. The largest number served of those tried is the capacity.

    .venv/bin/python -m bench.pi_capacity [--seconds 40] [--machines 500 1000 1500 2000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import PacedPublisher, Servers, circlemade, forget_session, servers_running
from bench.latency import LatencyProxy, permille
from bench.workload import Workshop

PI4_EVENTS_PER_S = 1477.83
"""sysbench 1.0.20 ``cpu --threads=1``, Raspberry Pi 4 (leoncode.co.uk)."""
WARM_UP_S = 15.0
"""Left out of the measure: on a quarter of a core the edge's first minutes (the first
writes, InfluxDB creating its shards) are slower than its steady state."""
CGROUP = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


def sysbench_events_per_s(seconds: int = 20) -> float:
    if shutil.which("sysbench") is None:
        raise SystemExit("pi capacity: sysbench is not installed (apt-get install sysbench)")
    out = subprocess.run(["sysbench", "cpu", "--threads=1", f"--time={seconds}", "run"],
                         capture_output=True, text=True, check=True).stdout
    found = re.search(r"events per second:\s*([\d.]+)", out)
    assert found is not None, out
    return float(found[1])


@contextmanager
def pi_core(share: float, name: str = "circlemade-pi4") -> Iterator[Path]:
    """A cgroup (v1 cpu controller) allowed ``share`` of one CPU."""
    group = CGROUP / name
    group.mkdir(exist_ok=True)
    (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (group / "cpu.cfs_quota_us").write_text(str(int(share * PERIOD_US)))
    try:
        yield group
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            (CGROUP / "cgroup.procs").write_text(pid)
        group.rmdir()


def confine(group: Path, pid: int) -> None:
    (group / "cgroup.procs").write_text(str(pid))


def serves(servers: Servers, group: Path, machines: int, seconds: float) -> dict[str, Any]:
    """One live run of ``machines`` at 1 message/s each, the edge inside the budget."""
    proxy = LatencyProxy(servers.influx.url).start()
    work = servers.root / f"pi-{machines}"
    work.mkdir()
    config = work / "edge.toml"
    client_id = f"pi-{machines}"
    config.write_text(Workshop(machines).config(
        servers.mqtt.port, {"api": "v1", "url": proxy.url, "database": f"pi_{machines}"},
        client_id, 1, work / "buffer.sqlite"))
    service = circlemade(config)
    confine(group, service.popen.pid)
    service.wait_connected()
    proxy.record_after_ns = time.time_ns() + int(WARM_UP_S * 1e9)
    publisher = PacedPublisher(servers.mqtt.port, machines, machines, seconds + WARM_UP_S)
    achieved = publisher.join()
    time.sleep(3)  # what is on its way arrives
    service.stop()
    forget_session(servers.mqtt.port, client_id)
    values = proxy.latencies_ms
    last = values[len(values) * 2 // 3:]
    p99, last_p99 = permille(values)[989], permille(last)[989]
    return {"machines": machines, "achieved_rate": achieved, "samples": len(values),
            "p50_ms": permille(values)[499], "p99_ms": p99, "last_third_p99_ms": last_p99,
            "max_ms": max(values),
            "p99_by_tenth_ms": [round(permille(values[i * len(values) // 10:
                                                     (i + 1) * len(values) // 10])[989])
                                for i in range(10)],
            "served": p99 < 1000 and last_p99 < 1000
            and achieved >= 0.95 * machines}  # the devices were not held back


def run(seconds: float, counts: list[int]) -> dict[str, Any]:
    here = sysbench_events_per_s()
    share = PI4_EVENTS_PER_S / here
    results = []
    with servers_running() as servers, pi_core(share) as group:
        for server in (servers.mqtt, servers.influx):
            assert server.process is not None
            confine(group, server.process.pid)
        for machines in counts:
            result = serves(servers, group, machines, seconds)
            results.append(result)
            print(f"pi capacity: {machines} machines at 1 msg/s: p99 "
                  f"{result['p99_ms']:.0f} ms (last third {result['last_third_p99_ms']:.0f}"
                  f" ms), {'served' if result['served'] else 'not served'}", flush=True)
            if not result["served"]:
                break
    served = [r["machines"] for r in results if r["served"]]
    return {"sysbench_here": here, "sysbench_pi4": PI4_EVENTS_PER_S, "cpu_share": share,
            "capacity": max(served, default=0), "runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--machines", type=int, nargs="+", default=[500, 1000, 1500, 2000])
    args = parser.parse_args()
    print(json.dumps(run(args.seconds, args.machines), indent=1))


if __name__ == "__main__":
    main()
