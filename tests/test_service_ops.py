"""Running it unattended: systemd notifications and watchdog pings, the status command,
the shipped unit file, and the text log format."""

from __future__ import annotations

import configparser
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import tomli_w

from simulators.local_servers import LocalServer
from tests.conftest import REPO
from tests.waiting import wait_for


def write_config(tmp_path: Path, mosquitto: LocalServer, influxdb1: LocalServer,
                 **extra: object) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(tomli_w.dumps({
        "site": {"id": "ops"}, "health_interval_s": 0.5,
        "brokers": [{"port": mosquitto.port, "client_id": "ops-edge"}],
        "influx": {"api": "v1", "url": influxdb1.url, "database": "ops"},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": "m", "kind": "meter", "sources": [
            {"topic": "ops/m", "profile": "json"}]}], **extra}))
    return path


def status(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "circlemade.cli", "status", "-c", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def test_notify_watchdog_and_status(tmp_path: Path, mosquitto: LocalServer,
                                    influxdb1: LocalServer) -> None:
    config = write_config(tmp_path, mosquitto, influxdb1)
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(15)
    service = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c",
                                    str(config)],
                               stderr=subprocess.DEVNULL, cwd=REPO,
                               env={**os.environ, "NOTIFY_SOCKET": address})
    try:
        messages = [listener.recv(100).decode() for _ in range(3)]
        assert messages[0] == "READY=1" and "WATCHDOG=1" in messages[1:]
        subprocess.run(["mosquitto_pub", "-p", str(mosquitto.port), "-t", "ops/m", "-q", "1",
                        "-m", '{"power_w": 3}'], check=True, timeout=30)
        wait_for("the status file counts the message",
                 lambda: "1 in, 0 errors" in status(config).stdout)
        running = status(config)
        assert running.returncode == 0, running.stdout
        assert "mqtt:main" in running.stdout and "connected" in running.stdout
        assert "m/json" in running.stdout and "1 in, 0 errors" in running.stdout
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(60)
        listener.close()
    stopped = status(config)  # a clean stop leaves a last word: stopped, not connected
    assert stopped.returncode == 1 and "STOPPED" in stopped.stdout, stopped.stdout
    assert "connected" not in stopped.stdout and "0 points left" in stopped.stdout


def test_text_log_format(tmp_path: Path, mosquitto: LocalServer,
                         influxdb1: LocalServer) -> None:
    config = write_config(tmp_path, mosquitto, influxdb1,
                          logging={"level": "info", "format": "text"})
    log_path = tmp_path / "edge.log"
    with log_path.open("w") as log_file:
        service = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c",
                                    str(config)],
                                   stderr=log_file, text=True, cwd=REPO)
    wait_for("the service starts", lambda: "service.started" in log_path.read_text())
    service.send_signal(signal.SIGTERM)
    service.wait(60)
    first = log_path.read_text().splitlines()[0]
    assert " info service.started site=ops " in first and not first.startswith("{")


def test_systemd_unit_runs_the_real_command() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "deploy" / "circlemade-edge.service")
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[1:3] == ["run", "-c"] and command[0].endswith("/circlemade")
    assert service["Type"] == "notify" and service["Restart"] == "always"
    assert int(service["WatchdogSec"]) >= 3 * 10  # three health intervals
    assert service["User"] != "root"
    result = subprocess.run([sys.executable, "-m", "circlemade.cli", "run", "--help"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0 and "--config" in result.stdout


def test_an_mqtt_only_service_does_not_load_opcua(tmp_path: Path) -> None:
    """asyncua and its cryptography are about 20 MB of RSS (bench/README.md, memory)."""
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "lean"}, "brokers": [{"port": 1}],
        "influx": {"api": "v1", "url": "http://127.0.0.1:1", "database": "lean"},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": "m", "kind": "meter", "sources": [
            {"topic": "lean/m", "profile": "tasmota"}]}]}))
    probe = ("import sys; from edge.service.config import load_config; "
             "from edge.service.wiring import EdgeService; "
             f"EdgeService(load_config({str(config)!r})); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncua')[:3])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_heap_is_settled_after_start() -> None:
    probe = ("import gc; from edge.service.heap import settle_after_start, YOUNG_THRESHOLD; "
             "before = gc.get_freeze_count(); settle_after_start(); "
             "print(before == 0, gc.get_freeze_count() > 10_000, "
             "gc.get_threshold()[0] == YOUNG_THRESHOLD, gc.isenabled())")
    result = subprocess.run([sys.executable, "-c", f"import circlemade.cli; {probe}"],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stdout.split() == ["True"] * 4, result.stderr
