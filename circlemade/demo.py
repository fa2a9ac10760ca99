"""``circlemade demo``: the whole trip on one machine, with nothing configured.

Starts Mosquitto and InfluxDB 1.x as child processes (data under ``--data-dir``), a
simulated workshop speaking the real devices' payloads (Bambu Lab, OctoPrint, Tasmota,
Shelly, Sparkplug B over MQTT; a umati-style machine tool over OPC UA), and the edge
service; then shows what InfluxDB
holds, refreshed every two seconds, until Ctrl-C or ``--duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from circlemade.live_view import MachineRow, snapshot, table
from contract.errors import PeerError
from contract.eventlog import setup_logging
from dashboards.provisioning import write as write_dashboards
from edge.service.config import Config, parse_config
from edge.service.wiring import EdgeService, stop_event
from edge.storage.stores import STORES
from simulators import local_servers
from simulators.fleet import Fleet, Scenario
from simulators.prusalink import DEMO_KEY, PRUSALINK_KEY_ENV

SITE = "demo-workshop"
PIN_ENV = "CIRCLEMADE_DEMO_PIN"
NOTIFY_ENV = "CIRCLEMADE_DEMO_NOTIFY"
"""An apprise URL (e.g. ntfy://ntfy.sh/TOPIC) the demo's alerts go to, when set."""
"""The demo's terminal PIN: a random one unless this is set."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "circlemade" / "demo"


PERMIT = [{"name": "day", "start": "07:00", "end": "19:00", "laeq_max_db": 55},
          {"name": "evening", "start": "19:00", "end": "22:00", "laeq_max_db": 50},
          {"name": "night", "start": "22:00", "end": "07:00", "laeq_max_db": 45}]
"""Noise limits by period, as a Brussels environmental permit sets them."""


def demo_scenario(speed: float) -> Scenario:
    """Two printers (a Bambu Lab and an OctoPrint) behind a Tasmota and a Shelly plug, a
    Prusa MK4 on PrusaLink, a mill serving OPC UA behind a Shelly Gen1 plug, a CNC router
    on a Sparkplug B gateway, a Haas-like mill behind an MTConnect agent, the
    compressor on a Modbus meter, the digital meter at the grid connection, read on its
    P1 port, a sound level meter on the façade and an air sensor beside a printer: one of
    each kind of device a workshop has."""
    os.environ.setdefault(PRUSALINK_KEY_ENV, DEMO_KEY)
    return Scenario.from_counts(printers=2, meters=3, cnc=1, machine_tools=1,
                                opcua_port=local_servers.free_port(), modbus_meters=1,
                                modbus_port=local_servers.free_port(), prusalink=1,
                                mtconnect=1, seed=7, speed=speed, operator_site=SITE,
                                grid=True, sensors=True)


def demo_config(broker: tuple[str, int], influx_url: str, fleet: Fleet,
                data_dir: Path, terminal_port: int) -> dict[str, Any]:
    targets = {"notify_env": [NOTIFY_ENV]} if os.environ.get(NOTIFY_ENV) else {}
    return {
        "site": {"id": SITE, "name": "Demo workshop", "timezone": "Europe/Brussels",
                 "grid_meter": fleet.grid_meter},
        "brokers": [{"id": "main", "host": broker[0], "port": broker[1],
                     "client_id": "circlemade-demo-edge"}],
        "influx": {"api": "v1", "url": influx_url, "database": "circlemade",
                   "flush_interval_s": 0.5},
        "machines": fleet.machines_config(),
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "demo", "start": "00:00", "end": "00:00"}]},
        "health_interval_s": 5.0,
        "buffer": {"path": str(data_dir / "buffer.sqlite")},
        "terminal": {"listen": f"127.0.0.1:{terminal_port}", "pin_env": PIN_ENV},
        "alerts": [{"rule": rule, **parameters, **targets} for rule, parameters in (
            ("fault", {"on_scrap": True}), ("standby", {"above_w": 50, "after_min": 30}),
            ("edge", {}), ("peak", {}), ("noise", {}))],
        "neighbours": {"periods": PERMIT},
    }


def run_demo(data_dir: Path, duration_s: float | None, speed: float,
             broker: tuple[str, int] | None = None, influx_url: str | None = None) -> int:
    """With ``broker`` or ``influx_url`` the demo uses those servers instead of starting its
    own (InfluxDB through the v1 API, database ``circlemade``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "edge.log"
    print(f"circlemade demo: data in {data_dir}; service log in {log_path}", flush=True)
    with log_path.open("a") as log, contextlib.ExitStack() as servers:
        setup_logging("info", log)
        if broker is None:
            mqtt = servers.enter_context(local_servers.mosquitto(data_dir / "mosquitto"))
            broker = ("127.0.0.1", mqtt.port)
            print(f"started Mosquitto on 127.0.0.1:{mqtt.port}", flush=True)
        if influx_url is None:
            influx_url = servers.enter_context(
                local_servers.influxdb1(data_dir / "influxdb")).url
            print(f"started InfluxDB 1.x on {influx_url}", flush=True)
        fleet = Fleet(demo_scenario(speed))
        port = local_servers.free_port()
        os.environ.setdefault(PIN_ENV, f"{secrets.randbelow(1_000_000):06d}")
        config = parse_config(demo_config(broker, influx_url, fleet, data_dir, port),
                              "<demo config>")
        print(f"the operators' terminal: http://127.0.0.1:{port}/ (PIN "
              f"{os.environ[PIN_ENV]}, this machine only)", flush=True)
        print("alerts: annotations on the dashboards" + (
            f", sent to the {NOTIFY_ENV} target" if os.environ.get(NOTIFY_ENV) else
            f" (set {NOTIFY_ENV}=ntfy://ntfy.sh/YOUR-TOPIC to get them on a phone)"),
            flush=True)
        return asyncio.run(_run(config, fleet, broker, influx_url, duration_s, data_dir))


async def _run(config: Config, fleet: Fleet, broker: tuple[str, int], influx_url: str,
               duration_s: float | None, data_dir: Path) -> int:
    stop = stop_event(duration_s)
    grafana = data_dir / "grafana"
    write_dashboards(config, grafana, str(grafana / "dashboards"))
    service = EdgeService(config)
    service_task = asyncio.create_task(service.run(stop))
    for gateway in service.gateways:  # subscribed before the devices are born
        await asyncio.to_thread(gateway.connected.wait, 10)
    workshop_task = asyncio.create_task(fleet.run(*broker, client_id="circlemade-demo-sim"))
    make_reader = STORES[config.influx.api].reader
    assert make_reader is not None  # the demo's own InfluxDB
    client = make_reader(config.influx)
    console = Console(width=None if sys.stdout.isatty() else 110)
    title = f"circlemade demo: {config.site.name}, InfluxDB {influx_url} (db circlemade)"
    rows: list[MachineRow] = []
    last_in, last_t = 0.0, time.monotonic()
    try:
        with Live(console=console, auto_refresh=False,
                  transient=False) if console.is_terminal else contextlib.nullcontext() as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0 if console.is_terminal else 10.0)
                try:
                    rows = await snapshot(client)
                except PeerError as exc:
                    console.print(f"(InfluxDB not answering yet: {exc})")
                    continue
                now = time.monotonic()
                total_in = sum(f.get("messages_in", 0) for f in service.health.snapshot().values())
                rate, last_in, last_t = (total_in - last_in) / (now - last_t), total_in, now
                caption = (f"{rate:,.0f} messages/s in, buffer depth "
                           f"{service.health.get('buffer', 'buffer_depth'):.0f}, "
                           f"{fleet.published:,} published; Ctrl-C stops")
                view = table(rows, title, caption)
                if live is not None:
                    live.update(view, refresh=True)
                else:
                    console.print(view)
    finally:
        workshop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await workshop_task
        stop.set()
        await service_task
        with contextlib.suppress(PeerError):
            rows = await snapshot(client)
        await client.close()
    health = service.health.snapshot()
    errors = sum(f.get("decode_errors", 0) for f in health.values())
    console.print(table(rows, "The shift, as stored in InfluxDB"))
    console.print(
        f"messages published: {fleet.published}, "
        f"points written: {service.health.get('sink', 'points_written'):.0f}, "
        f"decode errors: {errors:.0f}\n"
        f"data: {data_dir} (Mosquitto, InfluxDB, buffer, edge.log)\n"
        f"dashboards: {grafana}/dashboards, Grafana provisioning: {grafana}/provisioning")
    return 0
