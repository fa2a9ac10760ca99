"""MTConnect end to end: a simulated agent in front of a simulated mill -> the gateway ->
InfluxDB: program runs stored as jobs; a cursor that fell out of the agent's buffer; an
agent restart (a new instanceId); record and replay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from edge.service.config import Config
from edge.tools.recording import Replayer, read_records, record
from simulators.cnc import SimulatedCnc
from simulators.local_servers import LocalServer, free_port
from simulators.mtconnect_agent import MTConnectAgent
from tests.talk import polled_config, rows, running, ticking
from tests.waiting import until


@asynccontextmanager
async def agent(buffer_size: int = 4096) -> AsyncIterator[MTConnectAgent]:
    """An agent whose mill runs programs of seconds (its clock 100 times faster)."""
    cnc = SimulatedCnc("vf2", seed=4, alarm_rate=0.0, cycle_s=(120.0, 200.0))
    server = MTConnectAgent(cnc, free_port(), buffer_size=buffer_size)
    await server.start()

    def step() -> None:
        cnc.step(10.0)
        server.observe()

    try:
        async with ticking(step):
            yield server
    finally:
        await server.stop()


def mtconnect_config(server: MTConnectAgent, database: str, influx: LocalServer) -> Config:
    return polled_config("mtc-test", database, influx, {
        "id": "vf2", "kind": "cnc", "sources": [server.source()]})


async def test_program_runs_are_stored_as_jobs(influxdb1: LocalServer) -> None:
    async with agent() as server, running(mtconnect_config(server, "mtc_jobs", influxdb1)):
        async def a_job() -> bool:
            return bool(await rows(influxdb1.url, "mtc_jobs", 'SELECT * FROM "job"'))

        await until("a program run stored", a_job, 120)
        job = (await rows(influxdb1.url, "mtc_jobs", 'SELECT * FROM "job"'))[0]
        assert job["job"].endswith(".nc") and job["outcome"] == "good"
        speeds = await rows(influxdb1.url, "mtc_jobs", 'SELECT "spindle_speed_rpm" FROM "telemetry"'
                            ' WHERE "spindle_speed_rpm" > 0')
        assert speeds and all(17_500 < s["spindle_speed_rpm"] < 18_500 for s in speeds)


async def test_a_lost_cursor_and_an_agent_restart_are_caught_up(
        influxdb1: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="circlemade")
    async with agent(buffer_size=8) as server, \
            running(mtconnect_config(server, "mtc_gaps", influxdb1)) as service:
        route = "vf2/mtconnect"
        gateway = service.value_gateways[0]
        await until("polling", gateway.connected.is_set)

        def told(event: str) -> bool:
            return any(event in r.getMessage() or event == getattr(r, "event", "")
                       for r in caplog.records)

        for rpm in range(20):  # more than the agent's buffer between two polls
            server.cnc.spindle_rpm = 1000.0 + rpm
            server.observe()
        await until("the lost cursor told", lambda: told("mtconnect.out_of_range"))
        polled = service.health.get(route, "messages_in")
        await server.restart()
        await until("the restart noticed", lambda: told("mtconnect.agent_restarted"))
        await until("polling the new instance", lambda: service.health.get(
            route, "messages_in") > polled + 5)
        assert service.health.get(route, "decode_errors") == 0


async def test_a_recorded_run_replays_to_the_same_job(
        tmp_path: Path, influxdb1: LocalServer) -> None:
    output = tmp_path / "mtc.jsonl"
    stop = asyncio.Event()
    async with agent() as server:
        config = mtconnect_config(server, "mtc_rec", influxdb1)
        recording = asyncio.create_task(record(config, output, None, stop))
        await until("a completed run recorded", lambda: output.exists()
                    and output.read_text().count("READY") >= 2, 120)
        stop.set()
        await asyncio.wait_for(recording, 30)
    lines = list(Replayer(config).lines(read_records(output)))
    jobs = [line for line in lines if line.startswith("job,")]
    assert jobs and ",outcome=good," in jobs[0] and '.nc"' in jobs[0], jobs
