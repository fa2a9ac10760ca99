"""The json-lines store, added through the store recipe (CONTRIBUTING.md): a running edge
writes every point both to a real InfluxDB and, as a ``[[sinks]]`` entry of its own, to a
file of JSON lines; the file holds exactly what InfluxDB got."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import tomli_w

from edge.service.config import parse_config
from edge.service.config_problems import ConfigError
from simulators.local_servers import LocalServer
from tests.talk import publish, start_edge, stop_edge, stored
from tests.waiting import logged, wait_for


def test_a_json_lines_store_gets_what_influxdb_gets(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    points = tmp_path / "debug" / "points.jsonl"
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "debug"},
        "brokers": [{"port": mqtt.port, "client_id": "json-lines-edge"}],
        "influx": {"api": "v1", "url": influx.url, "database": "debug",
                   "flush_interval_s": 0.2},
        "sinks": [{"name": "file", "api": "json-lines", "url": points.as_uri(),
                   "measurements": ["energy"], "flush_interval_s": 0.2}],
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": "plug", "kind": "meter", "sources": [
            {"topic": "d/plug", "profile": "json",
             "time": {"path": "ts", "format": "unix_s"}}]}]}))
    log = tmp_path / "edge.log"
    edge = start_edge(config, log)
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        for second, watts in ((1_796_000_000, 182.5), (1_796_000_010, 40.0)):
            publish(mqtt.port, "d/plug", {"ts": second, "power_w": watts})
        wait_for("both points in the file", lambda: points.exists()
                 and len(points.read_bytes().splitlines()) == 2)
        wait_for("both points in InfluxDB", lambda: len(stored(
            influx.url, "debug", 'SELECT "power_w" FROM "energy"')) == 2)
    finally:
        stop_edge(edge)
    written = [orjson.loads(line) for line in points.read_bytes().splitlines()]
    assert [(p["measurement"], p["fields"]["power_w"], p["time_ns"]) for p in written] == [
        ("energy", 182.5, 1_796_000_000 * 10**9), ("energy", 40.0, 1_796_000_010 * 10**9)]
    assert written[0]["tags"]["machine"] == "plug" and written[0]["tags"]["site"] == "debug"
    rows = stored(influx.url, "debug", 'SELECT "power_w" FROM "energy"')
    assert [row["power_w"] for row in rows] == [182.5, 40.0]


def test_a_store_is_chosen_by_its_registered_api() -> None:
    base = {"site": {"id": "s"}, "machines": [{"id": "m", "kind": "meter", "sources": [
        {"topic": "t", "profile": "json"}]}]}
    with pytest.raises(ConfigError, match="unknown kind of store; expected one of: "
                                          "json-lines, v1, v2"):
        parse_config({**base, "influx": {"api": "v3", "url": "http://x"}}, secrets=False)
    with pytest.raises(ConfigError, match="expected a file URL"):
        parse_config({**base, "influx": {"api": "json-lines", "url": "http://x"}},
                     secrets=False)
