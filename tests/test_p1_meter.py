"""The site's grid meter end to end: a simulated HomeWizard P1 meter answering its API
v1 over HTTP and v2 over HTTPS with a token -> the gateway -> InfluxDB; a wrong token
is refused, counted and told; Fluvius telegrams (dsmr_parser's captures) published to
a real Mosquitto are stored with the meter's own quarter and peak."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import paho.mqtt.publish as publish
import pytest

from edge.service.config import parse_config
from simulators.local_servers import LocalServer, free_port
from simulators.p1_meter import GridConnection, HomeWizardP1, self_signed
from tests.talk import polled_config, rows, running, ticking
from tests.waiting import until

TOKEN_ENV = "CIRCLEMADE_TEST_P1_TOKEN"
FIXTURES = Path(__file__).parent / "profiles" / "fixtures"


def grid() -> GridConnection:
    return GridConnection(lambda: 4200.0, lambda: 1000.0)


async def stored_energy(influx: LocalServer, database: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await rows(influx.url, database, 'SELECT * FROM "energy"')
    return found


async def test_api_v1_is_polled_into_the_grid_meters_readings(influxdb1: LocalServer) -> None:
    connection = grid()
    meter = HomeWizardP1(connection, free_port())
    await meter.start()
    try:
        config = polled_config("p1-test", "p1_v1", influxdb1, {
            "id": "main", "kind": "meter", "sources": [meter.source()]})
        async with ticking(lambda: connection.step(0.1)), running(config):
            async def counted() -> bool:
                return any(r.get("demand_kw") is not None and r.get("energy_kwh")
                           for r in await stored_energy(influxdb1, "p1_v1"))

            await until("the meter's counters and quarter stored", counted, 60)
        found = await stored_energy(influxdb1, "p1_v1")
        assert any(r.get("power_w") == pytest.approx(3200.0) for r in found)
        assert all(r.get("power_export_w") in (None, 0.0) for r in found)
    finally:
        await meter.stop()


async def test_api_v2_over_https_with_its_token_and_a_wrong_token_told(
        influxdb1: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="circlemade")
    tls, certificate = self_signed(tmp_path)
    connection = GridConnection(lambda: 500.0, lambda: 2500.0)  # sending 2 kW back
    meter = HomeWizardP1(connection, free_port(), token="0123456789ABCDEF", tls=tls)
    await meter.start()
    monkeypatch.setenv(TOKEN_ENV, "wrong")
    try:
        config = polled_config("p1-test", "p1_v2", influxdb1, {
            "id": "main", "kind": "meter", "sources": [{
                **meter.source(), "api": 2, "token_env": TOKEN_ENV,
                "ca_file": str(certificate)}]})
        async with ticking(lambda: connection.step(0.1)), running(config) as service:
            await until("the refused token counted", lambda: service.health.get(
                "main/homewizard", "http_errors") >= 1)
            assert any("refused the token" in str(getattr(r, "fields", ""))
                       for r in caplog.records)
            assert not any("0123456789ABCDEF" in r.getMessage() for r in caplog.records)
            meter.token = "wrong"  # the meter's token is now the configured one

            async def exporting() -> bool:
                return any(r.get("power_export_w") == pytest.approx(2000.0)
                           for r in await stored_energy(influxdb1, "p1_v2"))

            await until("polled over HTTPS with the token", exporting, 60)
    finally:
        await meter.stop()


async def test_fluvius_telegrams_over_mosquitto(influxdb1: LocalServer,
                                                mosquitto: LocalServer) -> None:
    config = parse_config({
        "site": {"id": "p1-test", "grid_meter": "main"},
        "brokers": [{"id": "main", "host": "127.0.0.1", "port": mosquitto.port}],
        "health_interval_s": 0.5,
        "influx": {"api": "v1", "url": influxdb1.url, "database": "p1_dsmr",
                   "flush_interval_s": 0.2},
        "machines": [{"id": "main", "kind": "meter", "sources": [
            {"profile": "dsmr", "topic": "dsmr/raw/#"}]}]})
    for number, name in enumerate(("fluvius_v171.txt", "fluvius_v171_alt.txt")):
        # retained: the edge gets them whenever it subscribes
        publish.single(f"dsmr/raw/{number}", (FIXTURES / name).read_bytes(), qos=1,
                       retain=True, hostname="127.0.0.1", port=mosquitto.port)
    async with running(config):

        async def both() -> bool:
            return len([r for r in await stored_energy(influxdb1, "p1_dsmr")
                        if r.get("month_peak_kw") is not None]) >= 2

        await until("both telegrams stored", both, 60)
    found = {r["month_peak_kw"]: r for r in await stored_energy(influxdb1, "p1_dsmr")
             if r.get("month_peak_kw") is not None}
    assert found[3.064]["demand_kw"] == pytest.approx(0.052)
    # 0-0:1.0.0(200512135409S): 13:54:09 summer time
    assert found[2.589]["time"] == 1589284449 * 10**9
