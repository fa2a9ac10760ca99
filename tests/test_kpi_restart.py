"""KPI state across restarts of the edge, against real Mosquitto and InfluxDB: a job runs
while the edge is stopped with SIGTERM and then killed with SIGKILL; its energy and
duration, the OEE run time, the power-only meter's energy series and the number of
points stored are exactly what one run without restarts gives. And a replay with a
restart in the middle gives the points of one without."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from contract.units import DECIMALS
from edge.pipeline.kpi.memory import FORMAT_VERSION, load
from edge.service.config import parse_config
from edge.storage.line_protocol import last_writes
from edge.tools.recording import read_records
from simulators.local_servers import LocalServer
from tests.conftest import REPO
from tests.kpi_session import CONFIG as EXAMPLE_CONFIG
from tests.kpi_session import recording
from tests.replayed import replay_in_parts
from tests.talk import publish, stored
from tests.waiting import wait_for

KPI = ("job", "oee", "circularity", "material")


def write_config(tmp_path: Path, mqtt: LocalServer, influx: LocalServer) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(tomli_w.dumps({
        "site": {"id": "r", "timezone": "UTC"},
        "health_interval_s": 3600,  # no ticks: the figures come from the readings alone
        "brokers": [{"port": mqtt.port, "client_id": "restart-edge"}],
        "influx": {"api": "v1", "url": influx.url, "database": "restart",
                   "flush_interval_s": 0.2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]},
        "machines": [{"id": "p", "kind": "printer", "sources": [
            {"topic": "r/p/status", "profile": "json",
             "time": {"path": "ts", "format": "unix_s"}},
            {"topic": "r/p/plug", "profile": "json", "meter": "plug",
             "time": {"path": "ts", "format": "unix_s"}}],
            "components": [{"name": "nozzle", "counts": "jobs", "service_every": 1}]}]}))
    return path


class Edge:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log, self.starts = config, log, 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "circlemade.cli", "run", "-c", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        wait_for("the edge subscribed",
                 lambda: self.log.read_text().count('"event":"mqtt.subscribed"') >= self.starts)

    def stop(self, how: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(how)
        self.process.wait(60)


def query(url: str, statement: str) -> list[dict[str, Any]]:
    return stored(url, "restart", statement)


@pytest.mark.servers
def test_a_job_survives_sigterm_and_sigkill(tmp_path: Path,
                                           servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    edge = Edge(write_config(tmp_path, mqtt, influx), tmp_path / "edge.log")
    port = mqtt.port
    energy_points = 0

    def plug(t: float, watts: float) -> None:
        nonlocal energy_points
        publish(port, "r/p/plug", {"ts": t, "power_w": watts})
        energy_points += 1

    def energy_stored() -> int:
        return len(query(influx.url, 'SELECT "energy_kwh" FROM "energy"'))

    edge.start()
    a = time.time() - 30  # the first part happened in the last half minute
    publish(port, "r/p/status", {"ts": a, "state": "idle"})
    plug(a, 10.0)
    publish(port, BATCH, {**START, "time": iso(a + 5)})
    publish(port, "r/p/status", {"ts": a + 10, "state": "running", "job_event": "start",
                                 "job_name": "bracket"})
    plug(a + 10, 200.0)
    plug(a + 20, 200.0)
    wait_for("the first part stored", lambda: energy_stored() == energy_points - 1)
    edge.stop(signal.SIGTERM)

    edge.start()
    b = time.time()
    plug(b, 200.0)
    wait_for("the second part stored", lambda: energy_stored() == energy_points - 1)
    edge.stop(signal.SIGKILL)

    edge.start()
    assert edge.log.read_text().count('"event":"kpi.state_restored"') == 2
    publish(port, BATCH, START)  # the same start again, after the kill: nothing changes
    c = time.time()
    plug(c, 200.0)
    publish(port, "r/p/status", {"ts": c + 1, "state": "idle", "job_event": "end",
                                 "job_outcome": "good"})
    plug(c + 2, 10.0)
    publish(port, BATCH, {"action": "end", "batch": "B-7", "time": iso(c + 2)})
    wait_for("the job stored", lambda: len(query(influx.url, 'SELECT * FROM "job"')) == 1)
    wait_for("the clock past the last reading", lambda: time.time() > c + 3)
    edge.stop(signal.SIGTERM)
    edge.start()  # the last write of every window comes with the stop; one more start...
    edge.stop(signal.SIGTERM)  # ...and stop changes none of them

    check_the_job_and_the_energy(influx, a, c, energy_points)
    check_the_lifetime_counters(tmp_path / "buffer.sqlite", influx, a, c)
    check_the_batch(influx, a, c)


BATCH = "circlemade/r/p/batch"
START = {"action": "start", "batch": "B-7", "product": "bracket", "quantity": 2}


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def check_the_batch(influx: LocalServer, a: float, c: float) -> None:
    """Started before SIGTERM, started again after SIGKILL, ended after: one batch, its
    one job, its setup from the first start."""
    (batch,) = query(influx.url, 'SELECT * FROM "batch"')
    assert (batch["batch"], batch["product"], batch["jobs"]) == ("B-7", "bracket", 1.0)
    assert (batch["good_parts"], batch["remaining"], batch["short"]) == (1.0, 1.0, 1.0)
    assert batch["setup_s"] == pytest.approx(5.0, abs=1e-5)
    assert batch["run_s"] == pytest.approx(c + 1 - (a + 10), abs=1e-5)

@pytest.mark.servers
def test_a_state_of_another_format_is_refused_unless_reset(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_config(tmp_path, mqtt, influx)
    edge = Edge(config, tmp_path / "edge.log")
    edge.start()
    publish(mqtt.port, "r/p/plug", {"ts": time.time(), "power_w": 5.0})
    wait_for("its state stored", lambda: _rows(tmp_path / "buffer.sqlite") > 0)
    edge.stop(signal.SIGTERM)
    with sqlite3.connect(tmp_path / "buffer.sqlite") as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'kpi_state_version'")
    refused = subprocess.run([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config)],
                             capture_output=True, text=True, timeout=60, cwd=REPO)
    assert refused.returncode == 1
    assert "KPI state stored there is of format 0" in refused.stderr
    assert "--reset-state" in refused.stderr and str(tmp_path / "buffer.sqlite") in refused.stderr

    with sqlite3.connect(tmp_path / "buffer.sqlite") as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'kpi_state_version'")
        db.execute("UPDATE kpi_state SET state = X'7b2273746174'")  # a torn blob
    broken = subprocess.run([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert broken.returncode == 1 and "machine p" in broken.stderr, broken.stderr

    fresh = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config),
                              "--reset-state"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=REPO, env={**os.environ})
    try:
        wait_for("started afresh", lambda: _version(tmp_path / "buffer.sqlite")
                 == str(FORMAT_VERSION) and _rows(tmp_path / "buffer.sqlite") == 0)
    finally:
        fresh.send_signal(signal.SIGTERM)
        assert fresh.wait(60) == 0


def check_the_job_and_the_energy(influx: LocalServer, a: float, c: float,
                                 energy_points: int) -> None:
    """One job from a + 10 to c + 1 at 200 W, and the plug's energy monotonic across
    the restarts, each report stored once."""
    (job,) = query(influx.url, 'SELECT * FROM "job"')
    assert job["job"] == "bracket"
    assert job["duration_s"] == pytest.approx(c + 1 - (a + 10), abs=1e-5)
    # what the meter reported by the job's end: 200 W from a+10 to its report at c (the
    # second after c is reported at c+2, after the job was written)
    assert job["energy_kwh"] == pytest.approx(200 * (c - (a + 10)) / 3.6e6, rel=1e-5)

    energy = [row["energy_kwh"] for row in query(
        influx.url, 'SELECT "energy_kwh" FROM "energy" WHERE "meter" = \'plug\'')]
    assert len(energy) == energy_points - 1  # each report once, the first makes none
    assert energy == sorted(energy)  # monotonic across both restarts
    assert energy[-1] == pytest.approx((10 * 10 + 200 * (c + 2 - (a + 10))) / 3.6e6, rel=1e-5)

    events = query(influx.url, 'SELECT * FROM "job_event"')
    assert [e["job_event"] for e in events] == ["start", "end"]
    (day,) = query(influx.url, 'SELECT * FROM "oee" WHERE "window" = \'day\'')
    if time.gmtime(a).tm_yday == time.gmtime(c).tm_yday:  # not across midnight
        assert day["run_s"] == pytest.approx(c + 1 - (a + 10), abs=1e-5)
        # KPI values are stored to DECIMALS places: late in the day availability is small
        assert day["availability"] == pytest.approx(day["run_s"] / day["planned_s"],
                                                    abs=10 ** -DECIMALS)



def check_the_lifetime_counters(buffer: Path, influx: LocalServer, a: float, c: float,
                                ) -> None:
    """Across SIGTERM and SIGKILL the machine's run hours are the job's whole run, and
    its one job counted once: its nozzle (one job an interval) fell due once, at its end."""
    with sqlite3.connect(buffer) as db:
        (blob,) = db.execute("SELECT state FROM kpi_state WHERE machine = 'p'").fetchone()
    life = load(bytes(blob), "machine p").lifetime
    assert life.machine_ns["run_h"] / 1e9 == pytest.approx(c + 1 - (a + 10), abs=1e-3)
    assert life.machine["jobs"] == 1.0
    nozzle = query(influx.url, 'SELECT * FROM "lifetime" WHERE "component" = \'nozzle\'')
    assert [(row["jobs"], row["status"]) for row in nozzle][-1] == (1.0, "due")
    assert [row["time"] for row in nozzle if row["status"] == "due"] == [
        pytest.approx((c + 1) * 1e9, abs=1e6)]  # ns; once, at the job's end


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM kpi_state").fetchone()[0])


def _version(path: Path) -> str:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'kpi_state_version'").fetchone()
        return str(row[0]) if row else ""


def test_a_replay_with_a_restart_in_the_middle_gives_the_same_points(tmp_path: Path) -> None:
    """The worked example of docs/metrics.md, replayed whole and in two halves with the
    KPI state handed over as the service stores it: InfluxDB keeps the same points."""
    config = parse_config(EXAMPLE_CONFIG)
    path = tmp_path / "session.jsonl"
    path.write_bytes(recording())
    records = list(read_records(path))

    def run(parts: list[list[tuple[int, dict[str, Any]]]]) -> dict[Any, Any]:
        return {key: fields for key, fields in last_writes(replay_in_parts(config, parts)
                                                           ).items() if key[0] in KPI}

    def resubscribed(before: list[tuple[int, dict[str, Any]]], after: list[tuple[int, dict[
            str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
        """As a restarted edge's OPC UA subscription does: the current value of every
        node first, when it connects (MQTT devices here say all in each message)."""
        current = {(e["route"], e["node"]): e for _, e in before if e["source"] == "opcua"}
        at = after[0][1]["time"]
        return [(0, {**e, "time": at}) for e in current.values()] + after

    whole = run([records])
    assert len(whole) >= 30  # 4 jobs, 3 x 3 windows x 2, material
    for cut in (len(records) // 3, len(records) // 2, 2 * len(records) // 3):
        halves = [records[:cut], resubscribed(records[:cut], records[cut:])]
        assert run(halves) == whole, cut
