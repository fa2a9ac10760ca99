"""PrusaLink end to end: a simulated Prusa answering the HTTP API v1 -> the gateway ->
InfluxDB: jobs with their file names and material, a printer that goes away and comes
back, a wrong API key (401) and a malformed answer, each counted and told."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import Config, parse_config
from edge.tools.recording import Replayer, read_records, record
from simulators.local_servers import LocalServer, free_port
from simulators.printer import PrinterBehaviour, SimulatedPrinter
from simulators.prusalink import PrusaLinkPrinter
from tests.talk import polled_config, rows, running, ticking
from tests.waiting import until

KEY_ENV = "CIRCLEMADE_TEST_PRUSALINK_KEY"
PLANNED: dict[str, float] = {}
"""Each simulated job's filament, as its file says."""


@asynccontextmanager
async def printing(api_key: str = "k3y") -> AsyncIterator[PrusaLinkPrinter]:
    """A printer whose jobs take seconds (its clock runs 40 times faster), answering on a
    free port, until the block ends."""
    printer = SimulatedPrinter("mk4", seed=5, behaviour=PrinterBehaviour(
        fail_rate=0.0, cancel_rate=0.0, job_s=(60.0, 80.0), idle_s=(5.0, 10.0)))
    device = PrusaLinkPrinter(printer, free_port(), api_key, KEY_ENV)
    await device.start()

    def step() -> None:
        printer.step(4.0)
        PLANNED[printer.job] = printer.job_filament_mm

    try:
        async with ticking(step):
            yield device
    finally:
        await device.stop()


def prusa_config(device: PrusaLinkPrinter, database: str, influx: LocalServer) -> Config:
    return polled_config("prusa-test", database, influx, {
        "id": "mk4", "kind": "printer", "material": "PLA", "sources": [device.source()]})


async def test_a_printed_job_is_stored_with_its_file_and_material(
        influxdb1: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k3y")
    async with printing() as device, running(prusa_config(device, "prusa_jobs", influxdb1)):
        jobs = 'SELECT * FROM "job"'

        async def a_job() -> bool:
            return bool(await rows(influxdb1.url, "prusa_jobs", jobs))

        await until("a job printed and stored", a_job, 120)
        job = (await rows(influxdb1.url, "prusa_jobs", jobs))[0]
        assert job["job"] == "mk4-part-0001.bgcode" and job["outcome"] == "good"
        # the whole file's filament, 1.75 mm PLA
        assert job["material_g"] == pytest.approx(
            PLANNED["mk4-part-0001.gcode"] * 3.14159265 * 0.875 ** 2 * 1.24 / 1000, rel=1e-6)
        states = await rows(influxdb1.url, "prusa_jobs", 'SELECT "state" FROM "machine_state"')
        assert {"running", "idle"} <= {s["state"] for s in states}


async def test_a_printer_away_a_wrong_key_and_a_bad_answer_are_counted_and_told(
        influxdb1: LocalServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="circlemade")
    monkeypatch.setenv(KEY_ENV, "wrong")
    async with printing() as device, running(prusa_config(device, "prusa_bad", influxdb1)) \
            as service:
        route = "mk4/prusalink"
        await until("the refused login counted", lambda: service.health.get(
            route, "http_errors") >= 1)
        assert any("refused the login; check the API key" in str(getattr(r, "fields", ""))
                   for r in caplog.records)
        gateway = service.value_gateways[0]
        assert not gateway.connected.is_set()
        device.api_key = "wrong"  # the printer's key changed to the configured one
        await until("polled with the right key", gateway.connected.is_set)
        device.broken = True
        await until("the malformed answer counted", lambda: service.health.get(
            route, "decode_errors") >= 1)
        device.broken = False
        await device.stop()
        await until("the printer offline", lambda: _offline(influxdb1), 60)
        await device.start()
        await until("polled again after its restart", gateway.connected.is_set, 60)


async def _offline(influx: LocalServer) -> bool:
    found: list[dict[str, Any]] = await rows(
        influx.url, "prusa_bad", 'SELECT "state" FROM "machine_state" WHERE "state" = \'offline\'')
    return bool(found)


async def test_a_recorded_print_replays_to_the_same_job(
        tmp_path: Path, influxdb1: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k3y")
    output = tmp_path / "prusa.jsonl"
    stop = asyncio.Event()
    async with printing() as device:
        config = prusa_config(device, "prusa_rec", influxdb1)
        recording = asyncio.create_task(record(config, output, None, stop))
        await until("a finished job recorded", lambda: output.exists()
                    and "FINISHED" in output.read_text(), 120)
        stop.set()
        await asyncio.wait_for(recording, 30)
    lines = list(Replayer(config).lines(read_records(output)))
    jobs = [line for line in lines if line.startswith("job,")]
    assert len(jobs) == 1 and 'job="mk4-part-0001.bgcode"' in jobs[0], jobs
    assert ",outcome=good," in jobs[0]


async def test_a_printer_with_a_digest_password_is_polled(
        influxdb1: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLEMADE_TEST_PRUSALINK_PASSWORD", "pr1nt3r")
    async with printing() as device:
        device.password = "pr1nt3r"
        source = {key: value for key, value in device.source().items() if key != "api_key_env"}
        config = parse_config({
            "site": {"id": "prusa-test"}, "brokers": [],
            "influx": {"api": "v1", "url": influxdb1.url, "database": "prusa_digest",
                       "flush_interval_s": 0.2},
            "machines": [{"id": "mk4", "kind": "printer", "sources": [{
                **source, "password_env": "CIRCLEMADE_TEST_PRUSALINK_PASSWORD",
                "poll_interval_s": 0.2}]}]})
        async with running(config) as service:
            await until("polled with the digest login", lambda: service.health.get(
                "mk4/prusalink", "messages_in") >= 4)
            assert service.health.get("mk4/prusalink", "http_errors") == 0
