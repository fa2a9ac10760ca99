"""Memory of a long-running edge: RSS of circlemade-edge with many machines, over time.

500 machines (bench/workload.py) each send one message a second, live, for ten
minutes; the service's RSS is sampled every ten seconds. It must stay flat: everything
per machine is bounded (KPI windows close, caches are per series), and the durable
buffer lives on disk.

    .venv/bin/python -m bench.memory [--machines 500] [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from bench.harness import (
    PacedPublisher,
    Servers,
    circlemade,
    forget_session,
    servers_running,
)
from bench.process_stats import cpu_s, rss_mb
from bench.workload import Workshop

SAMPLE_S = 10.0


def run(machines: int, minutes: float, progress: Callable[[str], None] = print,
        ) -> dict[str, Any]:
    with servers_running() as servers:
        return measure(servers, machines, minutes, progress)


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares growth of RSS over the second half of the run."""
    half = [(t, mb) for t, mb in samples if t >= samples[-1][0] / 2]
    n = len(half)
    mean_t = sum(t for t, _ in half) / n
    mean_mb = sum(mb for _, mb in half) / n
    var = sum((t - mean_t) ** 2 for t, _ in half)
    return 60 * sum((t - mean_t) * (mb - mean_mb) for t, mb in half) / var if var else 0.0


def measure(servers: Servers, machines: int, minutes: float,
            progress: Callable[[str], None]) -> dict[str, Any]:
    work = servers.root / "memory"
    work.mkdir()
    config = work / "edge.toml"
    config.write_text(Workshop(machines).config(
        servers.mqtt.port, {"api": "v1", "url": servers.influx.url, "database": "memory"},
        "bench-memory", 1, work / "buffer.sqlite"))
    service = circlemade(config)
    service.wait_connected()
    pid = service.popen.pid
    seconds = minutes * 60
    publisher = PacedPublisher(servers.mqtt.port, machines, machines, seconds)
    started = time.monotonic()
    cpu_start = cpu_s(pid)
    samples: list[tuple[float, float]] = []
    while (elapsed := time.monotonic() - started) < seconds:
        samples.append((elapsed, rss_mb(pid)))
        if len(samples) % 6 == 1:
            progress(f"  memory: {elapsed / 60:4.1f} of {minutes:g} min, "
                     f"RSS {samples[-1][1]:.1f} MB")
        time.sleep(SAMPLE_S - (time.monotonic() - started) % SAMPLE_S)
    samples.append((time.monotonic() - started, rss_mb(pid)))
    cpu_pct = 100 * (cpu_s(pid) - cpu_start) / (time.monotonic() - started)
    achieved = publisher.join()
    service.stop()
    forget_session(servers.mqtt.port, "bench-memory")
    return {"machines": machines, "minutes": minutes, "rate": achieved,
            "rss_first_min_mb": max(mb for t, mb in samples if t <= 60),
            "rss_end_mb": samples[-1][1], "rss_max_mb": max(mb for _, mb in samples),
            "slope_mb_per_min": slope_mb_per_min(samples), "cpu_pct": cpu_pct,
            "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.machines, args.minutes)))


if __name__ == "__main__":
    main()
