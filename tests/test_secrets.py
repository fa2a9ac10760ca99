"""Secrets come from the environment or files and never show in logs or outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def check_config(tmp_path: Path, settings: dict[str, Any], hidden: set[str]) -> str:
    """What check-config says of ``settings`` (a bad config: exit 2), none of ``hidden``
    in the environment."""
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps(settings))
    done = subprocess.run([sys.executable, "-m", "circlemade.cli", "check-config", str(config)],
                          capture_output=True, text=True, cwd=REPO,
                          env={k: v for k, v in os.environ.items() if k not in hidden})
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_secret_written_in_the_config_is_never_printed(tmp_path: Path) -> None:
    """Literally, under a secret's key: check-config names each field, prints no value."""
    markers = [f"marker{i}Qz7" for i in range(3)]
    said = check_config(tmp_path, {
        "site": {"id": "secrets"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "terminal": {"listen": "127.0.0.1:8090", "pin": markers[0]},
        "machines": [{"id": "x1c", "kind": "printer", "sources": [
            {"profile": "bambu", "topic": "device/00M0/report", "access_code": markers[1]},
            {"profile": "tasmota", "topic": "tele/p/+", "password": markers[2]}]}]},
        set(markers))
    assert not [m for m in markers if m.lower() in said.lower()], said
    for field in ("terminal.pin", "sources[0].access_code", "sources[1].password"):
        assert field in said, (field, said)


def test_a_secret_pasted_where_its_name_belongs_is_never_printed(tmp_path: Path) -> None:
    """Pasted into ``*_env`` instead of the variable's name: the name is not printed
    unless it looks like one."""
    markers = [f"marker{i}Qz7-x" for i in range(3)]
    said = check_config(tmp_path, {
        "site": {"id": "secrets"},
        "brokers": [{"id": "main", "username": "edge", "password_env": markers[0]}],
        "influx": {"api": "v2", "url": "http://127.0.0.1:9", "token_env": markers[1]},
        "machines": [{"id": "mk4", "kind": "printer", "sources": [
            {"profile": "prusalink", "endpoint": "http://127.0.0.1:9",
             "api_key_env": markers[2]}]}]}, set(markers))
    assert not [m for m in markers if m.lower() in said.lower()], said
    for field in ("password_env", "token_env", "api_key_env"):
        assert field in said, (field, said)


def test_every_secret_field_with_a_marker_never_shows_anywhere(
        tmp_path: Path, mosquitto: LocalServer) -> None:
    """Every ``*_env`` secret field of the config (found from the config's models, so a
    new one fails here until it is added) names a variable holding a unique marker; the
    service runs and fails at every door (stores, devices, alerts, a wrong PIN), then
    check-config, status, the log, the terminal's pages and every file the service wrote
    are searched for the markers."""
    from edge.tools.config_reference import sections

    nowhere, port = f"127.0.0.1:{free_port()}", free_port()
    settings = every_door(nowhere, port, mosquitto.port, tmp_path)
    driven = {"[[brokers]] password_env", "[influx] token_env", "[influx] password_env",
              "[terminal] pin_env", "[[alerts]] notify_env"} | {
        f'[[machines.sources]] with profile = "{s["profile"]}" {key}'
        for s in settings["machines"][1]["sources"] for key in s if key.endswith("_env")}
    every = {f"{table} {name}" for table, model in sections()
             for name in model.model_fields if name.endswith("_env")}
    assert driven == every  # a new secret field is driven here too
    secrets = {name: f"{name.lower().replace('_', '')}-Mk7Qz" for name in (
        "S_BROKER", "S_TOKEN", "S_CENTRAL", "S_PIN", "S_PRUSA_KEY", "S_PRUSA_PASSWORD",
        "S_OPCUA", "S_UMATI", "S_P1_TOKEN")}
    secrets["S_NOTIFY"] = f"json://{nowhere}/snotify-Mk7Qz"
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps(settings))
    env = {**os.environ, **secrets}

    def command(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "circlemade.cli", *args, "-c",
                               str(config)], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=120)
        return done.stdout + done.stderr

    said = [command("check-config"), command("check-config", "--offline")]
    assert "ok: site 'secrets'" in said[0], said[0]
    log = tmp_path / "edge.log"
    with log.open("w") as out:
        service = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c",
                                    str(config)], stderr=out, env=env, cwd=REPO)
    try:
        wait_for("the terminal listening", logged(log, "terminal.listening"))
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        said += terminal_pages(f"http://127.0.0.1:{port}/", secrets["S_PIN"])
        subprocess.run(["mosquitto_pub", "-p", str(mosquitto.port), "-t", "s/m", "-q", "1",
                        "-m", '{"state": "fault"}'], check=True, timeout=30)
        for event in ("sink.write_failed", "http.refused", "opcua.disconnected",
                      "terminal.wrong_pin"):
            wait_for(f"{event} logged", logged(log, event))
        wait_for("an alert tried", lambda: "sending JSON notification" in log.read_text())
        said.append(command("status"))
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(60)
    assert "store central" in said[-1] and "FAILING" in said[-1]
    said.append(log.read_text())
    said += [path.read_bytes().decode("latin-1") for path in tmp_path.rglob("*")
             if path.is_file() and path != config]
    for name, secret in secrets.items():
        marker = secret.rpartition("/")[2]
        assert not [text[:200] for text in said if marker in text], name


def every_door(nowhere: str, port: int, broker_port: int, tmp_path: Path) -> dict[str, Any]:
    """A config with a secret behind every door: stores, broker, devices, the terminal's
    PIN, an alert's target; ``nowhere`` answers nothing."""
    return {
        "site": {"id": "secrets"},
        "brokers": [{"port": broker_port, "username": "edge", "password_env": "S_BROKER"}],
        "influx": {"api": "v2", "url": f"http://{nowhere}", "token_env": "S_TOKEN",
                   "retry_max_s": 1},
        "sinks": [{"name": "central", "api": "v1", "url": f"http://{nowhere}",
                   "username": "edge", "password_env": "S_CENTRAL", "retry_max_s": 1}],
        "buffer": {"path": str(tmp_path / "state" / "buffer.sqlite")},
        "terminal": {"listen": f"127.0.0.1:{port}", "pin_env": "S_PIN"},
        "alerts": [{"rule": "fault", "machines": ["m"], "notify_env": ["S_NOTIFY"]}],
        "machines": [{"id": "m", "kind": "printer", "sources": [
            {"topic": "s/m", "profile": "json"}]}, {"id": "devices", "kind": "cnc", "sources": [
            {"profile": "prusalink", "endpoint": f"http://{nowhere}",
             "api_key_env": "S_PRUSA_KEY"},
            {"profile": "prusalink", "endpoint": f"http://{nowhere}", "username": "maker",
             "password_env": "S_PRUSA_PASSWORD"},
            {"profile": "homewizard", "endpoint": f"https://{nowhere}", "api": 2,
             "token_env": "S_P1_TOKEN", "insecure_tls": True},
            {"profile": "opcua", "endpoint": f"opc.tcp://{nowhere}", "username": "edge",
             "password_env": "S_OPCUA", "nodes": [{"path": "A/B", "signal": "power_w"}]},
            {"profile": "umati", "endpoint": f"opc.tcp://{nowhere}", "username": "edge",
             "password_env": "S_UMATI"}]}]}


def terminal_pages(url: str, pin: str) -> list[str]:
    """The PIN page, a wrong PIN's page, and the machines page after the right PIN."""
    import urllib.error
    import urllib.request
    from http.cookiejar import CookieJar

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    pages = [browser.open(url, timeout=30).read().decode()]
    try:
        browser.open(url + "login", data=b"pin=000000", timeout=30)
    except urllib.error.HTTPError as wrong:
        pages.append(wrong.read().decode() + str(wrong.headers))
    signed_in = browser.open(url + "login", data=f"pin={pin}".encode(), timeout=30)
    pages.append(signed_in.read().decode() + str(signed_in.headers))
    assert 'action="logout"' in pages[-1]
    return pages
