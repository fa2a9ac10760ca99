"""Modbus end to end: simulated SDM630 meters served by pymodbus's server -> the gateway
-> InfluxDB; a meter that goes away and comes back; an address the device does not
have; record and replay of the registers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import Config, parse_config
from edge.tools.recording import Replayer, read_records, record
from simulators.local_servers import LocalServer, free_port
from simulators.meter import SimulatedMeter
from simulators.modbus_meter import ModbusMeters
from simulators.serial_pair import SerialPair
from tests.talk import rows, running
from tests.waiting import until


def meters() -> dict[int, SimulatedMeter]:
    """Two meters whose load does not move (no step): every poll reads the same."""
    first, second = SimulatedMeter("sdm-1", lambda: 1500.0), SimulatedMeter("sdm-2",
                                                                            lambda: 300.0)
    for meter, kwh in ((first, 12.5), (second, 3.0)):
        meter.power_w, meter.voltage_v, meter.counter_wh = meter._load(), 230.0, kwh * 1000
    return {1: first, 2: second}


def modbus_config(port: int, database: str, influx: LocalServer,
                  extra: list[dict[str, Any]] | None = None) -> Config:
    source = {"endpoint": f"modbus+tcp://127.0.0.1:{port}", "poll_interval_s": 0.2,
              "timeout_s": 1, "reconnect_min_s": 0.2, "reconnect_max_s": 1}
    return parse_config({
        "site": {"id": "modbus-test"}, "brokers": [], "health_interval_s": 0.5,
        "influx": {"api": "v1", "url": influx.url, "database": database,
                   "flush_interval_s": 0.2},
        "machines": [
            {"id": "compressor", "kind": "meter", "sources": [
                {**source, "profile": "sdm630", "unit": 1, "meter": "sdm-1"}]},
            {"id": "dryer", "kind": "meter", "sources": [
                {**source, "profile": "sdm630", "unit": 2, "meter": "sdm-2"}]},
            *(extra or [])]})




async def test_meters_are_read_and_a_meter_that_restarts_is_read_again(
        influxdb1: LocalServer) -> None:
    port = free_port()
    server = ModbusMeters(meters(), port)
    await server.start()
    config = modbus_config(port, "modbus_e2e", influxdb1)
    try:
        async with running(config) as service:
            query = ('SELECT "power_w", "energy_kwh", "voltage_l1_v", "power_l1_w", '
                     '"frequency_hz" FROM "energy" WHERE "meter" = \'sdm-1\'')

            async def polled(count: int) -> bool:
                return len(await rows(influxdb1.url, "modbus_e2e", query)) >= count

            await until("five polls of the compressor stored", lambda: polled(5))
            first = (await rows(influxdb1.url, "modbus_e2e", query))[0]
            assert first["power_w"] == pytest.approx(1500.0)
            assert first["energy_kwh"] == pytest.approx(12.5)
            assert first["power_l1_w"] == pytest.approx(540.0)  # 36 % on L1
            assert first["voltage_l1_v"] == pytest.approx(229.3, abs=0.01)
            assert first["frequency_hz"] == pytest.approx(50.0)
            await server.stop()
            await until("the meters away", lambda: not any(
                g.connected.is_set() for g in service.value_gateways))
            await until("the outage counted", lambda: service.health.get(
                "compressor/sdm630", "reconnects") >= 1)
            before = len(await rows(influxdb1.url, "modbus_e2e", query))
            await server.start()
            await until("both meters read again", lambda: all(
                g.connected.is_set() for g in service.value_gateways))
            await until("polls after the restart", lambda: polled(before + 3))
        # a meter-only machine's state was never known: its meter gone says nothing of it
        assert not await rows(influxdb1.url, "modbus_e2e", 'SELECT "state" FROM '
                              '"machine_state" WHERE "machine" = \'compressor\'')
    finally:
        await server.stop()


async def test_an_address_the_meter_does_not_have_is_an_exception_counted_and_told(
        influxdb1: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    server = ModbusMeters(meters(), port)
    await server.start()
    config = modbus_config(port, "modbus_exc", influxdb1, [
        {"id": "inverter", "kind": "meter", "sources": [{
            "endpoint": f"modbus+tcp://127.0.0.1:{port}", "profile": "modbus", "unit": 1,
            "poll_interval_s": 0.2, "registers": [{"address": 0x1000, "signal": "power_w"}]}]}])
    caplog.set_level(logging.WARNING, logger="circlemade")
    try:
        async with running(config) as service:
            await until("the exception counted", lambda: service.health.get(
                "inverter/modbus", "modbus_errors") >= 2)
            assert any("illegal data address" in str(getattr(r, "fields", r.getMessage()))
                       for r in caplog.records)
            await until("the meters read meanwhile", lambda: service.health.get(
                "compressor/sdm630", "messages_in") >= 6)
            assert service.health.get("inverter/modbus", "messages_in") == 0
    finally:
        await server.stop()


async def test_recorded_registers_replay_to_the_same_readings(
        tmp_path: Path, influxdb1: LocalServer) -> None:
    port = free_port()
    server = ModbusMeters(meters(), port)
    await server.start()
    config = modbus_config(port, "modbus_rec", influxdb1)
    output = tmp_path / "modbus.jsonl"
    stop = asyncio.Event()
    try:
        recording = asyncio.create_task(record(config, output, None, stop))
        await until("six blocks recorded", lambda: output.exists() and len(
            output.read_text().splitlines()) >= 12)
        stop.set()
        await asyncio.wait_for(recording, 30)
    finally:
        await server.stop()
    lines = list(Replayer(config).lines(read_records(output)))
    power = [line for line in lines if line.startswith("energy,") and "meter=sdm-1" in line
             and "power_w=" in line]
    assert power and all("power_w=1500" in line for line in power), power[:3]
    entries = output.read_text().splitlines()
    assert all('"source":"modbus"' in entry for entry in entries)


async def test_a_meter_on_a_serial_line_is_read_over_modbus_rtu(
        influxdb1: LocalServer) -> None:
    line = SerialPair()
    server = ModbusMeters(meters(), 0, serial_port=line.device)
    await server.start()
    config = parse_config({
        "site": {"id": "modbus-test"}, "brokers": [],
        "influx": {"api": "v1", "url": influxdb1.url, "database": "modbus_rtu",
                   "flush_interval_s": 0.2},
        "machines": [{"id": "compressor", "kind": "meter", "sources": [{
            "endpoint": server.endpoint(line.edge), "profile": "sdm120", "unit": 2,
            "poll_interval_s": 0.2, "meter": "sdm-2"}]}]})
    try:
        async with running(config):
            query = 'SELECT "power_w", "energy_kwh" FROM "energy" WHERE "meter" = \'sdm-2\''

            async def polled() -> bool:
                return len(await rows(influxdb1.url, "modbus_rtu", query)) >= 3

            await until("three polls over RTU", polled)
            first = (await rows(influxdb1.url, "modbus_rtu", query))[0]
            # an SDM630's registers read as an SDM120: the same addresses for the totals
            assert first["energy_kwh"] == pytest.approx(3.0)
    finally:
        await server.stop()
        line.close()
