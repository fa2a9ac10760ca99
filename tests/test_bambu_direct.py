"""A Bambu printer reached directly: its broker speaks TLS on 8883 with a certificate that
names the printer's serial, not its address. Mosquitto plays the printer here, with a
certificate made in the test whose only name is a serial, reached by IP: verified under
``server_name`` against the CA, or by a pinned fingerprint; a wrong pin or name is
refused before the access code is sent; the gateway asks for a full report (pushall)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from paho.mqtt.enums import CallbackAPIVersion

from edge.service.config import parse_config
from edge.service.wiring import EdgeService
from simulators import local_servers
from simulators.local_servers import LocalServer
from tests.conftest import REPO, started, unavailable
from tests.pki import make_pair
from tests.talk import rows, running
from tests.waiting import until

SERIAL = "01P00A391800123"
ACCESS_CODE = "12345678"


@pytest.fixture(autouse=True)
def access_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The printer's access code, where the service reads it: the environment."""
    monkeypatch.setenv("BAMBU_ACCESS_CODE", ACCESS_CODE)


@pytest.fixture
def printer_pki(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = make_pair(folder, "ca", None)
    make_pair(folder, SERIAL, ca, [x509.DNSName(SERIAL)])  # like the printer's: no address
    files = {"ca": folder / "ca.pem", "cert": folder / f"{SERIAL}.pem",
             "key": folder / f"{SERIAL}.key"}
    return files


@pytest.fixture
def printer_broker(tmp_path: Path, printer_pki: dict[str, Path]) -> Any:
    try:
        server = local_servers.mosquitto_with_password(tmp_path / "mqtt", "bblp", ACCESS_CODE,
                                                       dict(printer_pki))
    except local_servers.ServerUnavailable as exc:
        unavailable(str(exc))
    yield started(server)
    server.stop()


def fingerprint(pki: dict[str, Path]) -> str:
    der = x509.load_pem_x509_certificate(pki["cert"].read_bytes()).public_bytes(
        serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest()
    return "sha256:" + ":".join(digest[i:i + 2] for i in range(0, 64, 2))


@asynccontextmanager
async def edge(broker: LocalServer, influx: LocalServer, database: str,
               **tls: Any) -> AsyncIterator[EdgeService]:
    config = parse_config({
        "site": {"id": "bambu"},
        "brokers": [{"id": "x1c", "host": "127.0.0.1", "port": broker.port, "tls": True,
                     "username": "bblp", "password_env": "BAMBU_ACCESS_CODE",
                     "client_id": f"edge-{database}", "reconnect_max_s": 1, **tls}],
        "influx": {"api": "v1", "url": influx.url, "database": database,
                   "flush_interval_s": 0.2},
        "machines": [{"id": "x1c", "kind": "printer", "sources": [
            {"broker": "x1c", "topic": f"device/{SERIAL}/report", "profile": "bambu"}]}]},
    )
    async with running(config) as service:
        yield service


def printer_says(broker: LocalServer, pki: dict[str, Path], topic: str, payload: str) -> None:
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "--cafile",
                    str(pki["ca"]), "--insecure", "-u", "bblp", "-P", ACCESS_CODE, "-q", "1",
                    "-t", topic, "-m", payload], check=True, timeout=30)


class Listener:
    """What the printer is asked for: a client of its broker on the request topic."""

    def __init__(self, broker: LocalServer, pki: dict[str, Path], topic: str) -> None:
        self.heard: list[bytes] = []
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="listener")
        self.client.username_pw_set("bblp", ACCESS_CODE)
        self.client.tls_set(ca_certs=str(pki["ca"]))
        self.client.tls_insecure_set(True)  # the test's own client: the name is a serial
        self.client.on_connect = lambda c, *_: c.subscribe(topic)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda c, u, message: self.heard.append(bytes(message.payload))
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.parametrize("trust", ["server_name", "fingerprint"])
async def test_the_printer_is_reached_by_ip_and_asked_for_a_full_report(
        printer_broker: LocalServer, printer_pki: dict[str, Path], influxdb1: LocalServer,
        trust: str) -> None:
    tls = ({"ca_file": str(printer_pki["ca"]), "server_name": SERIAL}
           if trust == "server_name" else {"tls_fingerprint": fingerprint(printer_pki)})
    listener = Listener(printer_broker, printer_pki, f"device/{SERIAL}/request")
    try:
        await until("the listener subscribed", listener.subscribed.is_set)
        database = f"bambu_{trust}"
        async with edge(printer_broker, influxdb1, database, **tls) as service:
            await until("connected over TLS", service.gateways[0].connected.is_set)
            await until("pushall asked", lambda: any(b"pushall" in m for m in listener.heard))
            await asyncio.to_thread(printer_says, printer_broker, printer_pki,
                                    f"device/{SERIAL}/report",
                                    '{"print": {"gcode_state": "RUNNING", "mc_percent": 37}}')

            async def stored() -> bool:
                return bool(await rows(influxdb1.url, database, 'SELECT "state" FROM '
                                       '"machine_state" WHERE "state" = \'running\''))

            await until("the report stored", stored)
    finally:
        listener.close()


@pytest.mark.parametrize("trust", ["no server_name", "a wrong pin"])
async def test_a_certificate_that_does_not_match_is_refused(
        printer_broker: LocalServer, printer_pki: dict[str, Path], influxdb1: LocalServer,
        caplog: pytest.LogCaptureFixture, trust: str) -> None:
    tls = ({"ca_file": str(printer_pki["ca"])} if trust == "no server_name"
           else {"tls_fingerprint": "sha256:" + ":".join(["ab"] * 32)})
    expected = "not the pinned" if trust == "a wrong pin" else "certificate verify failed"
    caplog.set_level(logging.WARNING, logger="circlemade")  # whatever a test before set
    async with edge(printer_broker, influxdb1, "bambu_refused", **tls) as service:
        await until("the refusal logged", lambda: any(
            expected in str(getattr(r, "fields", "")) + r.getMessage() for r in caplog.records))
        assert not service.gateways[0].connected.is_set()


def test_tls_fingerprint_prints_what_to_pin(printer_broker: LocalServer,
                                            printer_pki: dict[str, Path]) -> None:
    done = subprocess.run([sys.executable, "-m", "circlemade.cli", "tls", "fingerprint",
                           f"127.0.0.1:{printer_broker.port}"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f'tls_fingerprint = "{fingerprint(printer_pki)}"' in done.stdout
    assert f"CN={SERIAL}" in done.stdout


@pytest.mark.parametrize(("tls", "code", "said"), [
    ({"tls_verify": False}, 0, "warning: brokers[0].tls_verify: false: the broker's "
                               "certificate is not checked"),
    ({"tls_fingerprint": "sha256:zz"}, 2, "brokers[0].tls_fingerprint: expected sha256: "
                                          "and 64 hex digits"),
    ({"tls": False, "server_name": SERIAL}, 2, "brokers[0]: tls: server_name, "
                                               "tls_fingerprint and tls_verify need tls"),
])
def test_check_config_on_a_printers_broker(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           tls: dict[str, Any], code: int, said: str) -> None:
    from circlemade.cli import main

    config = tmp_path / "edge.toml"
    (tmp_path / "code").write_text(ACCESS_CODE)
    login = {"username": "bblp", "password_file": str(tmp_path / "code")}
    config.write_text(tomli_w.dumps({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "brokers": [{"host": "192.0.2.80", "port": 8883, "tls": True, **login, **tls}],
        "machines": [{"id": "x1c", "kind": "printer", "sources": [
            {"topic": f"device/{SERIAL}/report", "profile": "bambu"}]}]}))
    assert main(["check-config", str(config)]) == code
    assert said in capsys.readouterr().err
