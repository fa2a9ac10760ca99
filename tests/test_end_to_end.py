"""One real trip: MQTT message -> Mosquitto -> gateway -> normalise -> InfluxDB -> query.

Against InfluxDB 1.x through the v1 write API (read back with InfluxQL) and against
VictoriaMetrics through the v2 write API of influxdb-client (read back with its export API).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

from edge.service.config import Config, parse_config
from edge.service.wiring import EdgeService
from edge.storage.influxql import InfluxQL
from simulators.local_servers import LocalServer
from simulators.mqtt_publisher import Publisher
from tests.conftest import REPO
from tests.talk import victoria_export
from tests.waiting import TIMEOUT_S
from tests.waiting import wait_for as wait_until

BASE_S = 1_795_000_000  # 2026-11-18T09:46:40Z: fixed, so timestamps can be compared exactly
COUNT = 60


def source_config(mqtt: LocalServer, influx: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {
        "site": {"id": "e2e-site"},
        "brokers": [{"id": "main", "port": mqtt.port,
                     "client_id": f"circlemade-test-{prefix}"}],
        "influx": {"flush_interval_s": 0.2, **influx},
        "health_interval_s": 0.5,
        "machines": [{
            "id": "mk4-01", "kind": "printer",
            # the readings are dated weeks back (BASE_S): without this, a health tick
            # landing after them, or not, made the printer offline by silence, or not
            "silence_s": 1e8,
            "sources": [
                {"topic": f"{prefix}/mk4-01/status", "profile": "json",
                 "time": {"path": "ts", "format": "unix_ms"},
                 "fields": [
                     {"path": "state", "signal": "state", "states": {"PRINTING": "running"}},
                     {"path": "nozzle_f", "signal": "nozzle_temp_c", "unit": "degF"},
                     {"path": "progress", "signal": "progress_pct"}]},
                {"topic": f"{prefix}/plug/+", "profile": "json", "meter": "plug-7",
                 "time": {"path": "ts", "format": "unix_ms"},
                 "fields": [{"path": "energy_wh", "signal": "energy_kwh", "unit": "Wh"}]},
            ],
        }],
    }


def time_ms(i: int) -> int:
    return BASE_S * 1000 + i * 1000 + 123


def buffered_lines(path: Path) -> int:
    """Points waiting in a running service's buffer (SQLite lets a reader in beside it)."""
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        return int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0])


def publish_messages(mqtt: LocalServer, prefix: str) -> None:
    publisher = Publisher("127.0.0.1", mqtt.port, f"test-publisher-{prefix}")
    publisher.wait_connected()
    for i in range(COUNT):
        status = {"ts": time_ms(i), "state": "PRINTING", "nozzle_f": 400 + i, "progress": i}
        publisher.publish(f"{prefix}/mk4-01/status", orjson.dumps(status))
        if i == COUNT // 2:
            publisher.publish(f"{prefix}/mk4-01/status", b"\x00 garbage, not JSON")
        publisher.publish(f"{prefix}/plug/sensor", orjson.dumps(
            {"ts": time_ms(i), "energy_wh": 1000 + i}))  # 3.6 kW
    publisher.close()


def expected_nozzle_c(i: int) -> float:
    return round((400 + i - 32) * 5 / 9, 6)


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[EdgeService]:
    service = EdgeService(config)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    for gateway in service.gateways:
        assert await asyncio.to_thread(gateway.connected.wait, 10), "gateway did not connect"
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def wait_for(check: Any, timeout_s: float = TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_mqtt_to_influxdb1_v1_api(mosquitto: LocalServer, influxdb1: LocalServer) -> None:
    influx = {"api": "v1", "url": influxdb1.url, "database": "e2e_v1"}
    config = parse_config(source_config(mosquitto, influx, "v1"))
    client = InfluxQL(influxdb1.url, "e2e_v1")

    async def nozzle_rows() -> list[dict[str, Any]]:
        series = await client.query(
            "SELECT nozzle_temp_c, progress_pct FROM telemetry GROUP BY *", epoch="ms")
        return series[0].rows if series and len(series[0].rows) == COUNT else []

    async with running(config) as service:
        await asyncio.to_thread(publish_messages, mosquitto, "v1")
        rows = await wait_for(nozzle_rows)
    try:
        assert [(r["time"], round(r["nozzle_temp_c"], 6), r["progress_pct"]) for r in rows] == [
            (time_ms(i), expected_nozzle_c(i), float(i)) for i in range(COUNT)
        ]
        (telemetry,) = await client.query("SELECT * FROM telemetry GROUP BY *")
        assert telemetry.tags == {"site": "e2e-site", "machine": "mk4-01", "kind": "printer"}

        (state,) = await client.query(
            "SELECT state, state_code FROM machine_state GROUP BY *", epoch="ms")
        assert {(r["state"], r["state_code"]) for r in state.rows} == {("running", 3.0)}
        assert len(state.rows) == COUNT

        (energy,) = await client.query("SELECT energy_kwh FROM energy GROUP BY *", epoch="ms")
        assert energy.tags == {"site": "e2e-site", "machine": "mk4-01", "kind": "printer",
                               "meter": "plug-7"}
        assert [(r["time"], r["energy_kwh"]) for r in energy.rows] == [
            (time_ms(i), (1000 + i) / 1000) for i in range(COUNT)
        ]
        health = service.health
        assert health.get("mk4-01/json", "messages_in") == COUNT + 1
        assert health.get("mk4-01/json", "decode_errors") == 1
        assert health.get("mk4-01/json/1", "messages_in") == COUNT

        async def health_points() -> list[Any]:
            return await client.query(
                "SELECT last(decode_errors) FROM edge_health WHERE source = 'mk4-01/json'")
        (stored,) = await wait_for(health_points)
        assert stored.rows[0]["last"] == 1.0
    finally:
        await client.close()


async def test_mqtt_to_victoriametrics_v2_api(mosquitto: LocalServer, victoria: LocalServer,
                                              monkeypatch: Any) -> None:
    monkeypatch.setenv("CIRCLEMADE_TEST_TOKEN", "not-checked-by-victoriametrics")
    influx = {"api": "v2", "url": victoria.url, "bucket": "e2e", "org": "test",
              "token_env": "CIRCLEMADE_TEST_TOKEN"}
    config = parse_config(source_config(mosquitto, influx, "v2"))

    async def exported() -> list[dict[str, Any]]:
        series = await asyncio.to_thread(victoria_export, victoria, "telemetry_nozzle_temp_c",
                                         "e2e-site")
        return series if series and len(series[0]["values"]) == COUNT else []

    async with running(config):
        await asyncio.to_thread(publish_messages, mosquitto, "v2")
        series = await wait_for(exported)
    assert len(series) == 1
    labels = series[0]["metric"]
    assert {k: labels[k] for k in ("site", "machine", "kind")} == {
        "site": "e2e-site", "machine": "mk4-01", "kind": "printer"}
    assert series[0]["timestamps"] == [time_ms(i) for i in range(COUNT)]
    assert [round(v, 6) for v in series[0]["values"]] == [
        expected_nozzle_c(i) for i in range(COUNT)]
    (energy,) = await asyncio.to_thread(victoria_export, victoria, "energy_energy_kwh",
                                        "e2e-site")
    assert energy["metric"]["meter"] == "plug-7"
    assert energy["values"] == [(1000 + i) / 1000 for i in range(COUNT)]


def test_run_command_stops_on_sigterm_and_flushes(
    tmp_path: Path, mosquitto: LocalServer, influxdb1: LocalServer
) -> None:
    influx = {"api": "v1", "url": influxdb1.url, "database": "e2e_cli",
              "flush_interval_s": 60.0, "batch_size": 100_000}
    raw = source_config(mosquitto, influx, "cli")
    raw["health_interval_s"] = 60.0
    raw["buffer"] = {"path": str(tmp_path / "buffer.sqlite")}
    path = tmp_path / "edge.toml"
    path.write_text(toml_dump(raw))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "circlemade.cli", "run", "-c", str(path)],
        stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        assert process.stderr is not None
        events = []
        for line in process.stderr:
            events.append(json.loads(line))
            if events[-1]["event"] == "mqtt.connected":
                break
        publish_messages(mosquitto, "cli")
        # received and held (the flush interval is a minute): a state, a telemetry and an
        # energy line for each of the COUNT instants
        wait_until("every message in the buffer",
                 lambda: buffered_lines(tmp_path / "buffer.sqlite") >= 3 * COUNT)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        process.kill()
    events += [json.loads(line) for line in rest.splitlines()]
    assert process.returncode == 0
    names = [e["event"] for e in events]
    assert names[0] == "service.started" and names[-1] == "service.stopped"
    assert "ingest.decode_error" in names
    count = asyncio.run(count_rows(influxdb1.url, "e2e_cli"))
    assert count == COUNT


async def count_rows(url: str, database: str) -> int:
    client = InfluxQL(url, database)
    try:
        series = await client.query("SELECT count(nozzle_temp_c) FROM telemetry")
        return int(series[0].rows[0]["count"]) if series else 0
    finally:
        await client.close()


def toml_dump(value: dict[str, Any]) -> str:
    """Enough TOML for the test configs: tables, arrays of tables, inline values."""

    def inline(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {inline(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(inline(x) for x in v) + "]"
        return json.dumps(v)

    return "\n".join(f"{key} = {inline(v)}" for key, v in value.items()) + "\n"
