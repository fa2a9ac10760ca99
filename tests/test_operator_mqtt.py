"""The operator contract end to end: a job and what people said about it, published to a
real Mosquitto, stored by the running service in a real InfluxDB; recorded meanwhile by
``circlemade record`` and replayed twice, byte for byte the same."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tomli_w

from edge.service.config import load_config
from edge.tools.recording import replay_to_file
from simulators.local_servers import LocalServer
from tests.conftest import REPO
from tests.talk import publish, stored
from tests.waiting import logged, wait_for


def query(url: str, statement: str) -> list[dict[str, Any]]:
    return stored(url, "floor", statement)


def write_floor_config(tmp_path: Path, mqtt: LocalServer, influx: LocalServer) -> Path:
    """A PETG printer that makes two parts a job, planned around the clock."""
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "floor", "timezone": "UTC"},
        "brokers": [{"port": mqtt.port, "client_id": "floor-edge"}],
        "influx": {"api": "v1", "url": influx.url, "database": "floor",
                   "flush_interval_s": 0.2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]},
        "machines": [{"id": "mk4", "kind": "printer", "material": "PETG",
                      "parts_per_job": 2, "sources": [
                          {"topic": "p/mk4", "profile": "json",
                           "time": {"path": "ts", "format": "unix_s"}}]}]}))
    return config


def test_what_people_say_reaches_influxdb_and_replays_the_same(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_floor_config(tmp_path, mqtt, influx)
    log, recorder_log = tmp_path / "edge.log", tmp_path / "record.log"
    with log.open("w") as out, recorder_log.open("w") as recorder_out:
        edge = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        recorder = subprocess.Popen(
            [sys.executable, "-m", "circlemade.cli", "record", "-c", str(config), "-o",
             str(tmp_path / "floor.jsonl")], stdout=recorder_out, stderr=subprocess.STDOUT,
            cwd=REPO)
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        wait_for("the recorder subscribed", lambda: (tmp_path / "floor.jsonl").exists())
        t = time.time() - 120
        publish(mqtt.port, "p/mk4", {"ts": t, "state": "idle"})
        publish(mqtt.port, "p/mk4", {"ts": t + 10, "state": "running", "job_event": "start",
                                     "job_name": "bracket"})
        publish(mqtt.port, "p/mk4", {"ts": t + 50, "state": "idle", "job_event": "end",
                                     "job_outcome": "good", "filament_used_mm": 10000})
        say = "circlemade/floor/mk4/"
        publish(mqtt.port, say + "verdict", {"good": 1, "scrap": 1, "reason": "warping",
                                             "by": "amina"})
        publish(mqtt.port, say + "downtime", {"reason": "waiting_material", "by": "amina"})
        publish(mqtt.port, say + "material", {"action": "load", "lot": "RPETG-2026-118",
                                              "material": "PETG", "recycled_pct": 100})
        publish(mqtt.port, say + "verdict", {"good": 1, "reason": "bored"})  # refused
        wait_for("the verdict stored", lambda: [
            row["good_parts"] for row in query(influx.url, 'SELECT * FROM "job"')] == [1.0])
        wait_for("the lot stored", lambda: bool(query(influx.url, 'SELECT * FROM "material_lot"')))
        wait_for("all recorded", lambda: len(
            (tmp_path / "floor.jsonl").read_bytes().splitlines()) >= 7)
    finally:
        for process in (edge, recorder):
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    (job,) = query(influx.url, 'SELECT * FROM "job"')
    assert (job["scrap_parts"], job["reason"], job["verdict_by"]) == (1.0, "warping", "amina")
    assert job["outcome"] == "good"  # the device's word stays its tag
    said = query(influx.url, 'SELECT * FROM "operator_input"')
    assert [row["action"] for row in said] == ["verdict", "downtime", "load"]
    stops = query(influx.url, 'SELECT * FROM "downtime" WHERE "reason" = \'waiting_material\'')
    assert stops and stops[0]["by"] == "amina"
    assert 'unknown reason \'bored\'' in log.read_text()

    loaded = load_config(config)
    first, second = io.StringIO(), io.StringIO()
    replay_to_file(loaded, tmp_path / "floor.jsonl", first)
    replay_to_file(loaded, tmp_path / "floor.jsonl", second)
    assert first.getvalue() == second.getvalue()
    replayed = first.getvalue()
    assert 'action="verdict"' in replayed and "good_parts=1.0" in replayed
    assert "material_lot," in replayed and "reason=waiting_material" in replayed
