"""MQTT -> circlemade-edge -> InfluxDB 1.x ingest throughput, end to end.

Starts Mosquitto and influxd as child processes, the edge service as `circlemade run`
(its own process, so its CPU and memory are its own), and a publisher process that sends
generic-JSON printer status messages at QoS 1 as fast as Mosquitto takes them. Measures
the time from the first message published to the last point readable in InfluxDB, and
the service's peak RSS. Prints the figures of each run and their median.

    .venv/bin/python bench/ingest.py [--messages 60000] [--machines 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from edge.influxql import InfluxQL
from simulators import local_servers
from simulators.mqtt_publisher import Publisher

REPO = Path(__file__).resolve().parent.parent


def config_toml(mqtt_port: int, influx_url: str, database: str, machines: int) -> str:
    fields = ('[{ path = "state", signal = "state", states = { printing = "running" } }, '
              '{ path = "progress", signal = "progress_pct" }, '
              '{ path = "layer", signal = "layer" }, '
              '{ path = "temps.nozzle", signal = "nozzle_temp_c" }, '
              '{ path = "temps.bed", signal = "bed_temp_c" }]')
    text = (f'[site]\nid = "bench"\n[[brokers]]\nport = {mqtt_port}\n'
            f'client_id = "bench-{database}"\n'
            f'[influx]\napi = "v1"\nurl = "{influx_url}"\ndatabase = "{database}"\n')
    for m in range(machines):
        text += (f'[[machines]]\nid = "p{m:03d}"\nkind = "printer"\n[[machines.sources]]\n'
                 f'topic = "bench/p{m:03d}/status"\nprofile = "json"\n'
                 f'time = {{ path = "ts", format = "unix_ms" }}\nfields = {fields}\n')
    return text


def publish(port: int, messages: int, machines: int, started: multiprocessing.Value,  # type: ignore[type-arg]
            qos: int = 1) -> None:
    publisher = Publisher("127.0.0.1", port, "bench-publisher")
    publisher.wait_connected()
    base_ms = int(time.time() * 1000) - messages
    started.value = time.time()
    for i in range(messages):
        machine = i % machines
        status = {"ts": base_ms + i // machines, "state": "printing", "progress": i % 100,
                  "layer": i % 300, "job": "bracket-v3.gcode",
                  "temps": {"nozzle": 214.8 + (i % 7) / 10, "nozzle_target": 215.0,
                            "bed": 60.1, "bed_target": 60.0}}
        publisher.publish(f"bench/p{machine:03d}/status", orjson.dumps(status), qos=qos)
    publisher.close(timeout_s=600)


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_points(url: str, database: str, expected: int, timeout_s: float) -> float:
    client = InfluxQL(url, database)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                series = await client.query("SELECT count(nozzle_temp_c) FROM telemetry")
            except Exception:
                series = []
            if series and series[0].rows[0]["count"] >= expected:
                return time.time()
            await asyncio.sleep(0.1)
    finally:
        await client.close()
    raise TimeoutError(f"{database}: fewer than {expected} points after {timeout_s} s")


def run_once(data_dir: Path, mqtt: local_servers.LocalServer, influx: local_servers.LocalServer,
             messages: int, machines: int, run: int, profile: str | None = None,
             ) -> dict[str, float]:
    database = f"bench_{run}"
    config = data_dir / f"bench-{run}.toml"
    config.write_text(config_toml(mqtt.port, influx.url, database, machines))
    service = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "-c", str(config)],
                               stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert service.stderr is not None
    for line in service.stderr:
        if json.loads(line)["event"] == "mqtt.connected":
            break
    started = multiprocessing.Value("d", 0.0)
    publisher = multiprocessing.Process(
        target=publish, args=(mqtt.port, messages, machines, started))
    publisher.start()
    spy = (subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                             str(service.pid), "--format", "raw", "--threads", "--rate", "200",
                             "-o", profile], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
           if profile else None)
    done = asyncio.run(wait_points(influx.url, database, messages, 600))
    publisher.join()
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait()
    peak = rss_mb(service.pid)
    cpu = cpu_s(service.pid)
    service.terminate()
    service.communicate(timeout=60)
    seconds = done - started.value
    return {"seconds": seconds, "msg_per_s": messages / seconds,
            "points_per_s": 2 * messages / seconds, "peak_rss_mb": peak,
            "service_cpu_pct": 100 * cpu / seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlemade-bench-") as tmp:
        data_dir = Path(tmp)
        with local_servers.mosquitto(data_dir / "mqtt") as mqtt, \
                local_servers.influxdb1(data_dir / "influx") as influx:
            results = []
            for run in range(args.runs):
                result = run_once(data_dir, mqtt, influx, args.messages, args.machines, run)
                results.append(result)
                print(f"run {run + 1}: {args.messages} messages from {args.machines} machines in "
                      f"{result['seconds']:.2f} s: {result['msg_per_s']:,.0f} msg/s, "
                      f"{result['points_per_s']:,.0f} points/s, peak RSS "
                      f"{result['peak_rss_mb']:.0f} MB, service CPU "
                      f"{result['service_cpu_pct']:.0f} % of a core", flush=True)
    print(f"median: {statistics.median(r['msg_per_s'] for r in results):,.0f} msg/s, "
          f"{statistics.median(r['points_per_s'] for r in results):,.0f} points/s, "
          f"peak RSS {statistics.median(r['peak_rss_mb'] for r in results):.0f} MB "
          "(QoS 1, end to end into InfluxDB 1.x)")


if __name__ == "__main__":
    main()
