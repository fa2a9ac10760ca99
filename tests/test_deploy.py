"""The compose stack's files hang together (no Docker engine here to run it): mounts
exist, commands are real, generated files are current, secrets come from .env."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from circlemade.cli import parser
from dashboards.provisioning import write
from edge.service.config import Config, load_config
from simulators.fleet import Fleet, Scenario
from tests.conftest import REPO, unavailable

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_services_and_mounts() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"mosquitto", "influxdb", "grafana", "edge", "simulators"}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source} is mounted but missing"


def test_commands_are_real_cli_commands() -> None:
    for name in ("edge", "simulators"):
        command = COMPOSE["services"][name]["command"]
        args = parser().parse_args(command)  # exits (fails the test) if it is not a command
        assert args.command == command[0]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["circlemade"]' in dockerfile and "USER circlemade" in dockerfile


def test_edge_config_reads_the_simulated_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFLUX_TOKEN", "x")
    config = load_config(REPO / "deploy" / "edge.toml")
    command = COMPOSE["services"]["simulators"]["command"]
    args = parser().parse_args(command)
    fleet = Fleet(Scenario.from_counts(args.printers, args.meters, args.cnc))
    configured = [m.model_dump(include={"id", "kind"}) for m in config.machines]
    assert configured == [{"id": m["id"], "kind": m["kind"]} for m in fleet.machines_config()]
    assert config.brokers[0].host == "mosquitto" and config.influx.url == "http://influxdb:8086"


def test_grafana_files_are_generated_and_current(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFLUX_TOKEN", "x")
    config = load_config(REPO / "deploy" / "edge.toml")
    mount = next(v.split(":")[1] for v in COMPOSE["services"]["grafana"]["volumes"]
                 if v.startswith("./deploy/grafana/dashboards"))
    for path in write(config, tmp_path, mount):
        committed = REPO / "deploy" / "grafana" / path.relative_to(tmp_path)
        assert committed.read_text() == path.read_text(), (
            f"{committed} is stale: run circlemade dashboards -c deploy/edge.toml "
            "-o deploy/grafana")
    source = json.loads((tmp_path / "provisioning" / "datasources" / "circlemade.yaml")
                        .read_text().split("\n", 2)[2])["datasources"][0]
    assert "${INFLUX_TOKEN}" in source["secureJsonData"]["httpHeaderValue1"]


def test_secrets_come_from_env_file() -> None:
    used = set(re.findall(r"\$\{(\w+)", (REPO / "docker-compose.yml").read_text()))
    offered = {line.split("=")[0] for line in (REPO / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    assert used <= offered
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_compose_file_validates(tmp_path: Path) -> None:
    """``docker compose config`` (or Debian's docker-compose, which scripts/setup installs)
    checks the file without a Docker engine."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"],
                                 capture_output=True).returncode == 0:
        command = [docker, "compose"]
    else:
        compose = shutil.which("docker-compose")
        assert compose, "neither docker compose nor docker-compose: run scripts/setup"
        command = [compose]
    env = tmp_path / ".env"
    env.write_text((REPO / ".env.example").read_text())
    result = subprocess.run([*command, "--env-file", str(env), "config", "--quiet"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_shipped_mosquitto_config_does_not_drop_bursts() -> None:
    settings = dict(
        line.split("#")[0].split(None, 1)
        for line in Path(REPO / "deploy" / "mosquitto.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert int(settings["max_queued_messages"].strip()) >= 100_000
    assert int(settings["max_inflight_messages"].strip()) >= 1000
    assert settings["persistence"].strip() == "true"


def test_the_image_holds_every_package(tmp_path: Path) -> None:
    """The image installs the wheel its build stage makes from the whole tree: build that
    wheel and find in it every module and template of the packages pyproject.toml ships."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY . ." in dockerfile and "pip wheel" in dockerfile
    assert "HEALTHCHECK" in dockerfile and '"circlemade", "status"' in dockerfile
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    shipped = [p.rstrip("*") for p in
               pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    source = tmp_path / "src"  # the build writes beside its source: a copy, not the repo
    ignore = shutil.ignore_patterns("__pycache__", ".*", "*.egg-info", "build")
    shutil.copytree(REPO, source, ignore=ignore)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir",
                    str(tmp_path / "wheels"), str(source)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    wanted = {str(path.relative_to(REPO)) for package in shipped
              for path in (REPO / package).rglob("*.py") if "__pycache__" not in path.parts}
    wanted |= {str(p.relative_to(REPO)) for p in (REPO / "edge").rglob("templates/*.html")}
    wanted |= {"circlemade/examples/workshop.toml"}  # what 'circlemade example-config' prints
    assert wanted - inside == set()


def test_compose_is_safe_to_start_and_stop() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on the LAN"
    for name in ("mosquitto", "influxdb"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("edge", "simulators", "grafana"):
        conditions = services[name]["depends_on"]
        assert all(c["condition"] == "service_healthy" for c in conditions.values()), name
    grace = services["edge"]["stop_grace_period"]
    assert grace.endswith("s") and float(grace[:-1]) > Config.model_fields[
        "stop_timeout_s"].default
    assert load_config_text_client_id() == "circlemade-compose-workshop-main"


def load_config_text_client_id() -> str:
    """The compose edge's client id as written: fixed, not derived from a host name."""
    settings = tomllib.loads((REPO / "deploy" / "edge.toml").read_text())
    return str(settings["brokers"][0]["client_id"])


def exposure(unit: Path) -> float:
    """``systemd-analyze security``'s overall rating of a unit file."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze (Debian's systemd package)")
    done = subprocess.run([analyze, "security", "--offline=true", "--no-pager", str(unit)],
                          capture_output=True, text=True, timeout=60)
    rating = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert rating is not None, done.stdout + done.stderr
    return float(rating.group(1))


def test_the_unit_is_hardened_and_stops_on_a_bad_config(tmp_path: Path) -> None:
    """``systemd-analyze security`` rates the shipped unit at most 2.5 ("OK"), and with
    the Modbus RTU drop-in too; a bad config (exit 2) is not restarted every 5 s for ever."""
    unit = REPO / "deploy" / "circlemade-edge.service"
    assert exposure(unit) <= 2.5
    settings = [line.strip() for line in unit.read_text().splitlines()]
    assert "RestartPreventExitStatus=2" in settings
    # the drop-in, as systemd merges it: its [Service] lines after the unit's own
    drop_in = (REPO / "deploy" / "circlemade-edge-rtu.conf").read_text()
    assert "SupplementaryGroups=dialout" in drop_in and "DeviceAllow=/dev/ttyUSB0 rw" in drop_in
    merged = tmp_path / "circlemade-edge.service"
    text = unit.read_text()
    service, install = text.split("[Install]")
    merged.write_text(service + drop_in.split("[Service]", 1)[1] + "[Install]" + install)
    assert "PrivateDevices=false" in merged.read_text()
    assert exposure(merged) <= 2.5
