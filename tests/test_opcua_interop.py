"""Interoperability with an independent OPC UA implementation, node-opcua (npm):
our gateway reads a node-opcua server, and node-opcua's client reads our simulator."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.service.config import parse_config
from edge.service.wiring import EdgeService
from edge.storage.influxql import InfluxQL, QueryError
from simulators.cnc import SimulatedCnc
from simulators.local_servers import LocalServer, free_port
from simulators.opcua_machine_tool import NAMESPACE, MachineToolServer
from tests.conftest import REPO, unavailable
from tests.waiting import until

INTEROP = REPO / "tests" / "interop"
NODE_MODULES = REPO / ".cache" / "npm" / "node_modules"


def node_env() -> dict[str, str]:
    if shutil.which("node") is None or not (NODE_MODULES / "node-opcua").is_dir():
        unavailable("node and node-opcua are needed (scripts/setup installs them into "
                    ".cache/npm)")
    return {**os.environ, "NODE_PATH": str(NODE_MODULES)}


@pytest.fixture
def node_opcua_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(["node", str(INTEROP / "node_opcua_server.js"), str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=node_env(), cwd=tmp_path)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("ready "):
                break
        else:
            pytest.fail(f"node-opcua server did not start (exit {process.wait()})")
        yield f"opc.tcp://127.0.0.1:{port}/UA/Laser"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_gateway_reads_a_node_opcua_server_by_browse_path(
    node_opcua_server: str, influxdb1: LocalServer
) -> None:
    config = parse_config({
        "site": {"id": "interop"}, "brokers": [],
        "influx": {"api": "v1", "url": influxdb1.url, "database": "interop",
                   "flush_interval_s": 0.2},
        "machines": [{"id": "laser-1", "kind": "laser", "sources": [{
            "endpoint": node_opcua_server, "profile": "opcua", "root": "Laser",
            "publishing_interval_ms": 100, "sampling_interval_ms": 50,
            "nodes": [
                {"path": "Tube/Temperature", "signal": "chamber_temp_c"},
                {"path": "Power", "signal": "power_w", "unit": "kW"},
                {"path": "Status", "signal": "state",
                 "states": {"Cutting": "running", "Ready": "idle"}},
            ]}]}],
    })
    service = EdgeService(config)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await until("the OPC UA gateway connected", service.value_gateways[0].connected.is_set,
                    20)

        async def ten_temperatures_and_both_states() -> bool:
            client = InfluxQL(influxdb1.url, "interop")
            try:
                temps = await client.query("SELECT chamber_temp_c FROM telemetry")
                states = await client.query("SELECT state FROM machine_state")
            except QueryError:
                return False
            finally:
                await client.close()
            return (sum(len(t.rows) for t in temps) >= 10
                    and {r["state"] for s in states for r in s.rows} == {"running", "idle"})

        await until("the laser's values stored", ten_temperatures_and_both_states)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    client = InfluxQL(influxdb1.url, "interop")
    try:
        (temperature,) = await client.query("SELECT chamber_temp_c FROM telemetry")
        (power,) = await client.query("SELECT power_w FROM energy")
        (states,) = await client.query("SELECT state FROM machine_state")
    finally:
        await client.close()
    temps = [r["chamber_temp_c"] for r in temperature.rows]
    assert len(temps) >= 10 and temps == sorted(temps)  # it only rises
    assert {r["power_w"] for r in power.rows} <= {0.0, 50.0, 1200.0}  # kW -> W (0: initial)
    assert {r["state"] for r in states.rows} == {"running", "idle"}
    assert service.health.get("laser-1/opcua", "bad_status") == 0


async def test_node_opcua_client_reads_our_simulator() -> None:
    env = node_env()
    server = MachineToolServer(SimulatedCnc("mill-1", seed=1), free_port(), speed=30,
                               interval_s=0.1)
    await server.start()
    try:
        speed = server._vars["speed"]

        async def spindle_turning() -> bool:  # JSON would show a speed of 0.0 as an integer
            return bool(await speed.read_value())

        await until("the simulator writes a spindle speed", spindle_turning)
        process = await asyncio.create_subprocess_exec(
            "node", str(INTEROP / "node_opcua_client.js"), server.endpoint, NAMESPACE,
            "Machines/mill-1/Identification/Manufacturer",
            "Machines/mill-1/Production/Counters/PartsProduced",
            "Machines/mill-1/Monitoring/Spindle/ActualSpeed",
            "Machines/mill-1/MachineryItemState/CurrentState",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await server.stop()
    assert process.returncode == 0, err.decode()[-2000:]
    (line,) = [x for x in out.decode().splitlines() if x.startswith("values ")]
    values = json.loads(line.removeprefix("values "))
    assert values["Machines/mill-1/Identification/Manufacturer"] == "circlemade simulations"
    assert isinstance(values["Machines/mill-1/Production/Counters/PartsProduced"], int)
    assert isinstance(values["Machines/mill-1/Monitoring/Spindle/ActualSpeed"], float)
    assert values["Machines/mill-1/MachineryItemState/CurrentState"] in (
        "Executing", "NotExecuting")
