"""The compose stack's files hang together (no Docker engine here to run it)."""

from __future__ import annotations

from pathlib import Path

import yaml

from edge.config import load_config
from tests.conftest import REPO


def test_compose_mounts_exist_and_the_edge_config_is_valid() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert {"mosquitto", "influxdb", "edge"} <= set(compose["services"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{source} is mounted but missing"
    config = load_config(REPO / "deploy" / "edge.toml")
    assert config.brokers[0].host == "mosquitto"
    assert config.influx.url == "http://influxdb:8086"


def test_shipped_mosquitto_config_does_not_drop_bursts() -> None:
    settings = dict(
        line.split("#")[0].split(None, 1)
        for line in Path(REPO / "deploy" / "mosquitto.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert int(settings["max_queued_messages"].strip()) >= 100_000
    assert int(settings["max_inflight_messages"].strip()) >= 100
    assert settings["persistence"].strip() == "true"
