"""Latency from the device's timestamp to InfluxDB's acceptance, at a steady rate.

A publisher process sends the workload live (2,000 messages/s by default), each message
stamped with the clock as it is sent. circlemade-edge writes to InfluxDB 1.x through a
measuring proxy: when InfluxDB has answered a write with 204, the proxy takes the time
and, for every point whose time came from the device (generic JSON in ms, Shelly in
10 ms), records acceptance minus device time. Points stamped on arrival at the edge
(Bambu, Tasmota) would leave out the broker hop and are not counted. The first seconds
(connection, start-up) are left out.

    .venv/bin/python -m bench.latency [--rate 2000] [--seconds 60] [--machines 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

from bench.harness import (
    PacedPublisher,
    Servers,
    circlemade,
    forget_session,
    servers_running,
)
from bench.workload import Workshop
from simulators import local_servers

WARM_UP_S = 5.0
DEVICE_TIMED = (",machine=json-", ",machine=shelly-")


@dataclass
class LatencyProxy:
    """Forwards to ``upstream``; keeps the latency of device-timed points (ms)."""

    upstream: str
    port: int = field(default_factory=local_servers.free_port)
    latencies_ms: list[float] = field(default_factory=list)
    record_after_ns: int = 0
    device_after_ns: int = 0
    """Only points dated (by their device) from then on are measured."""
    away: bool = False
    """Answer writes with 503, as an InfluxDB out of reach would."""
    first_write_ns: int = 0
    """When a write was first accepted after being away."""
    _seen: set[str] = field(default_factory=set)
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> LatencyProxy:
        threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True).start()
        self._ready.wait(10)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self) -> None:
        async with ClientSession() as session:
            async def forward(request: web.Request) -> web.Response:
                body = await request.read()
                if self.away and request.path == "/write":
                    return web.Response(status=503, text="away")
                async with session.request(request.method, self.upstream + request.path,
                                           params=request.query, data=body) as response:
                    answer = await response.read()
                    accepted_ns = time.time_ns()
                if request.path == "/write" and response.status == 204:
                    self.first_write_ns = self.first_write_ns or accepted_ns
                    self._record(body, accepted_ns)
                return web.Response(status=response.status, body=answer,
                                    content_type=response.content_type)

            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", forward)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self._ready.set()
            await asyncio.Event().wait()

    def _record(self, body: bytes, accepted_ns: int) -> None:
        if accepted_ns < self.record_after_ns:
            return
        for line in body.decode().splitlines():
            if line.startswith(("telemetry,", "energy,")) and any(
                    tag in line for tag in DEVICE_TIMED) and line not in self._seen:
                device_ns = int(line.rsplit(" ", 1)[1])
                after = self.device_after_ns and max(self.device_after_ns, self.first_write_ns)
                if device_ns >= after:  # its first acceptance only
                    self._seen.add(line)
                    self.latencies_ms.append((accepted_ns - device_ns) / 1e6)


def permille(values: list[float]) -> list[float]:
    """The 0.1 % ... 99.9 % percentiles: ``[p50 * 10 - 1]`` is the median."""
    return statistics.quantiles(values, n=1000, method="inclusive")


def run(rate: float, seconds: float, machines: int) -> dict[str, Any]:
    with servers_running() as servers:
        return measure(servers, rate, seconds, machines)


def measure(servers: Servers, rate: float, seconds: float, machines: int) -> dict[str, Any]:
    proxy = LatencyProxy(servers.influx.url).start()
    work = servers.root / "latency"
    work.mkdir()
    config = work / "edge.toml"
    config.write_text(Workshop(machines).config(
        servers.mqtt.port, {"api": "v1", "url": proxy.url, "database": "latency"},
        "bench-latency", 1, work / "buffer.sqlite"))
    service = circlemade(config)
    service.wait_connected()
    proxy.record_after_ns = time.time_ns() + int(WARM_UP_S * 1e9)
    publisher = PacedPublisher(servers.mqtt.port, machines, rate, seconds + WARM_UP_S)
    achieved = publisher.join()
    time.sleep(2)  # the last points reach InfluxDB
    service.stop()
    forget_session(servers.mqtt.port, "bench-latency")
    values = proxy.latencies_ms
    cuts = permille(values)
    return {"rate": rate, "achieved_rate": achieved, "seconds": seconds, "machines": machines,
            "samples": len(values), "p50_ms": cuts[499], "p95_ms": cuts[949],
            "p99_ms": cuts[989], "max_ms": max(values),
            "percentiles_ms": [[(i + 1) / 10, cuts[i]] for i in range(9, 999, 5)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--machines", type=int, default=50)
    args = parser.parse_args()
    result = run(args.rate, args.seconds, args.machines)
    result.pop("percentiles_ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
