"""Secrets come from the environment or files and never show in logs or outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import tomli_w

from simulators.local_servers import LocalServer, free_port
from tests.conftest import REPO
from tests.waiting import logged, wait_for

SECRETS = {"EDGE_MQTT_PASSWORD": "mqtt-Pa55-never-logged",
           "EDGE_INFLUX_PASSWORD": "influx-Pa55-never-logged"}


def test_no_secret_in_logs_or_check_config(tmp_path: Path, mosquitto: LocalServer) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-T0ken-never-logged\n")
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "secrets"},
        "brokers": [{"port": mosquitto.port, "username": "edge",
                     "password_env": "EDGE_MQTT_PASSWORD"}],
        # an InfluxDB that is not there: the failures get logged, the password must not be
        "influx": {"api": "v1", "url": f"http://127.0.0.1:{free_port()}", "username": "edge",
                   "password_env": "EDGE_INFLUX_PASSWORD", "retry_max_s": 1},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": "m", "kind": "meter", "sources": [
            {"topic": "s/m", "profile": "json"}]}],
    }))
    env = {**os.environ, **SECRETS}
    check = subprocess.run([sys.executable, "-m", "circlemade.cli", "check-config", str(config)],
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert check.returncode == 0, check.stderr
    log_path = tmp_path / "edge.log"
    with log_path.open("w") as log_file:
        service = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c",
                                    str(config)],
                                   stderr=log_file, text=True, env=env, cwd=REPO)
    subprocess.run(["mosquitto_pub", "-p", str(mosquitto.port), "-t", "s/m", "-q", "1",
                    "-m", '{"power_w": 5}'], check=True, timeout=30)
    wait_for("a failed write is logged", logged(log_path, "sink.write_failed"))
    service.send_signal(signal.SIGTERM)
    service.wait(60)
    log = log_path.read_text()
    output = check.stdout + check.stderr + log
    assert '"sink.write_failed"' in log  # the run did log connection problems
    for secret in [*SECRETS.values(), "file-T0ken-never-logged"]:
        assert secret not in output
