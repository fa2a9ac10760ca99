"""``circlemade demo``: the whole trip on one machine, with nothing configured.

Starts Mosquitto and InfluxDB 1.x as child processes (data under ``--data-dir``), a
simulated workshop publishing over MQTT, and the edge service; then shows what InfluxDB
holds, refreshed every two seconds, until Ctrl-C or ``--duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from edge.config import Config, parse_config
from edge.eventlog import setup_logging
from edge.influxql import InfluxQL, QueryError
from edge.live_view import render, snapshot
from edge.service import EdgeService
from simulators import local_servers
from simulators.workshop import SimulatedWorkshop

PRINTERS = ["printer-1", "printer-2"]
_STATES = {"printing": "running", "heating": "running", "cooling": "idle"}


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "circlemade" / "demo"


def demo_config(mqtt_port: int, influx_url: str) -> dict[str, Any]:
    """The embedded config: each simulated printer and the smart plug in front of it."""

    def printer(machine: str) -> dict[str, Any]:
        timed = {"profile": "json", "time": {"path": "ts", "format": "unix_s"}}
        status = [("state", "state"), ("progress", "progress_pct"), ("layer", "layer"),
                  ("temps.nozzle", "nozzle_temp_c"), ("temps.nozzle_target", "nozzle_target_c"),
                  ("temps.bed", "bed_temp_c"), ("temps.bed_target", "bed_target_c")]
        plug = [("power", "power_w"), ("voltage", "voltage_v"), ("current", "current_a")]
        status_fields: list[dict[str, Any]] = [{"path": p, "signal": s} for p, s in status]
        status_fields[0]["states"] = _STATES
        plug_fields: list[dict[str, Any]] = [{"path": p, "signal": s} for p, s in plug]
        plug_fields.append({"path": "energy_wh", "signal": "energy_kwh", "unit": "Wh"})
        return {"id": machine, "kind": "printer", "sources": [
            {**timed, "topic": f"workshop/{machine}/status", "fields": status_fields},
            {**timed, "topic": f"workshop/plug-{machine}/energy", "meter": f"plug-{machine}",
             "fields": plug_fields},
        ]}

    return {
        "site": {"id": "demo-workshop", "name": "Demo workshop", "timezone": "Europe/Brussels"},
        "brokers": [{"id": "main", "host": "127.0.0.1", "port": mqtt_port}],
        "influx": {"api": "v1", "url": influx_url, "database": "circlemade",
                   "flush_interval_s": 0.5},
        "machines": [printer(m) for m in PRINTERS],
        "health_interval_s": 5.0,
    }


def run_demo(data_dir: Path, duration_s: float | None, speed: float) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "edge.log"
    print(f"circlemade demo: data in {data_dir}; service log in {log_path}", flush=True)
    with log_path.open("a") as log, contextlib.ExitStack() as servers:
        setup_logging("info", log)
        mqtt = servers.enter_context(local_servers.mosquitto(data_dir / "mosquitto"))
        influx = servers.enter_context(local_servers.influxdb1(data_dir / "influxdb"))
        print(f"started Mosquitto on 127.0.0.1:{mqtt.port} and InfluxDB 1.x on {influx.url}",
              flush=True)
        config = parse_config(demo_config(mqtt.port, influx.url), "<demo config>")
        return asyncio.run(_run(config, mqtt.port, influx.url, duration_s, speed))


async def _run(config: Config, mqtt_port: int, influx_url: str, duration_s: float | None,
               speed: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    workshop = SimulatedWorkshop(PRINTERS, seed=7, speed=speed)
    service = EdgeService(config)
    service_task = asyncio.create_task(service.run(stop))
    workshop_task = asyncio.create_task(workshop.run("127.0.0.1", mqtt_port))
    client = InfluxQL(influx_url, config.influx.database)
    tty = sys.stdout.isatty()
    title = f"circlemade demo: {config.site.name}, stored in {influx_url} (db circlemade)"
    text = ""
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0 if tty else 5.0)
            try:
                rows, points = await snapshot(client)
            except QueryError as exc:
                print(f"(InfluxDB not answering yet: {exc})", flush=True)
                continue
            text = render(rows, points, title)
            print(("\x1b[H\x1b[2J" if tty else "\n") + text + "\n\nCtrl-C stops.", flush=True)
    finally:
        workshop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await workshop_task
        stop.set()
        await service_task
        rows, points = await snapshot(client)
        await client.close()
    print("\n" + render(rows, points, "stopped; final contents of InfluxDB"))
    errors = sum(f.get("decode_errors", 0) for f in service.health.snapshot().values())
    print(f"\nmessages published: {workshop.published}, "
          f"points written: {service.health.get('sink', 'points_written'):.0f}, "
          f"decode errors: {errors:.0f}")
    return 0
