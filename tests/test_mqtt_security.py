"""MQTT over TLS with a password (and a client certificate) against a real Mosquitto,
with certificates made in the test."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from edge.service.config import Config, parse_config
from edge.service.wiring import EdgeService
from edge.storage.influxql import InfluxQL
from simulators import local_servers
from simulators.local_servers import LocalServer
from tests.conftest import started, unavailable
from tests.pki import make_pair
from tests.waiting import until


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = make_pair(folder, "ca", None)
    make_pair(folder, "server", ca)
    make_pair(folder, "client", ca)
    return folder


def broker(tmp_path: Path, pki: Path) -> LocalServer:
    try:
        server = local_servers.mosquitto_with_password(
            tmp_path / "mqtt", "edge", "broker-secret",
            {"ca": pki / "ca.pem", "cert": pki / "server.pem", "key": pki / "server.key",
             "require_certificate": pki})
    except local_servers.ServerUnavailable as exc:  # mosquitto_passwd missing
        unavailable(str(exc))
    return started(server)


def tls_config(server: LocalServer, pki: Path, tmp_path: Path, client_id: str,
               influx_url: str) -> Config:
    """The edge on TLS with a client certificate, user edge, password from the env."""
    return parse_config({
        "site": {"id": "tls"},
        "brokers": [{"port": server.port, "tls": True, "ca_file": str(pki / "ca.pem"),
                     "cert_file": str(pki / "client.pem"), "key_file": str(pki / "client.key"),
                     "username": "edge", "password_env": "EDGE_MQTT_PASSWORD",
                     "client_id": client_id}],
        "influx": {"api": "v1", "url": influx_url, "database": "tls", "flush_interval_s": 0.2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": "m", "kind": "meter", "sources": [
            {"topic": "tls/m", "profile": "json"}]}],
    })


@pytest.mark.servers
async def test_tls_with_password_and_client_certificate(
    tmp_path: Path, pki: Path, influxdb1: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = broker(tmp_path, pki)
    monkeypatch.setenv("EDGE_MQTT_PASSWORD", "broker-secret")
    try:
        config = tls_config(server, pki, tmp_path, "tls-edge", influxdb1.url)
        service = EdgeService(config)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        assert await asyncio.to_thread(service.gateways[0].connected.wait, 15)
        await asyncio.to_thread(subprocess.run, [
            "mosquitto_pub", "-h", "127.0.0.1", "-p", str(server.port), "--cafile",
            str(pki / "ca.pem"), "--cert", str(pki / "client.pem"), "--key",
            str(pki / "client.key"), "-u", "edge", "-P", "broker-secret", "-q", "1",
            "-t", "tls/m", "-m", '{"power_w": 42.5}'], check=True, timeout=30)
        client = InfluxQL(influxdb1.url, "tls")
        series = []

        async def stored() -> bool:
            nonlocal series
            series = await client.query('SELECT "power_w" FROM "energy"')
            return bool(series)

        try:
            await until("the reading stored", stored)
        finally:
            await client.close()
            stop.set()
            await task
        assert series[0].rows[0]["power_w"] == 42.5
    finally:
        server.stop()


@pytest.mark.servers
async def test_wrong_password_is_refused_clearly(
    tmp_path: Path, pki: Path, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = broker(tmp_path, pki)
    monkeypatch.setenv("EDGE_MQTT_PASSWORD", "not-the-password")
    try:
        config = tls_config(server, pki, tmp_path, "tls-bad", "http://127.0.0.1:9")
        service = EdgeService(config)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await until("the broker refuses", lambda: any(
            getattr(r, "event", "") == "mqtt.connect_refused" for r in caplog.records))
        assert not service.gateways[0].connected.is_set()
        stop.set()
        await task
    finally:
        server.stop()
    refused = [r for r in caplog.records if getattr(r, "event", "") == "mqtt.connect_refused"]
    assert refused and "not-the-password" not in caplog.text
