"""Two stores, each with its own queue in the buffer: a local InfluxDB 1.x that takes
everything and a central VictoriaMetrics that takes some measurements. Either can be
away, or both, or the edge killed meanwhile: every point arrives once in each."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import tomli_w

from edge.service.config import parse_config
from edge.service.config_problems import ConfigError
from edge.storage.buffer import DurableBuffer, Queue
from edge.storage.health import Health
from simulators import local_servers
from simulators.local_servers import LocalServer
from simulators.mqtt_publisher import Publisher
from tests.conftest import REPO, started
from tests.talk import start_edge, stop_edge, stored, victoria_export
from tests.waiting import logged, wait_for

MACHINES = ("p1", "p2", "p3", "p4")
JOB_STEPS = 20
"""A job ends (good) and the next starts every this many seconds of each printer."""
CENTRAL = ["telemetry", "job"]


def line(measurement: str, value: int) -> str:
    return f"{measurement},site=s,machine=m v={value} {value}"


async def test_each_store_has_its_own_queue_bounds_and_counters(tmp_path: Path) -> None:
    health = Health("s")
    queues = [Queue("local", max_points=1000),
              Queue("central", ["job"], max_points=1000, health_source="sink-central")]
    buffer = DurableBuffer(tmp_path / "b.sqlite", health, queues=queues)
    await buffer.open()
    lines = [line("telemetry", i) for i in range(1500)] + [line("job", i) for i in range(10)]
    await buffer.append(lines)
    local, central = buffer.queues["local"], buffer.queues["central"]
    assert (local.depth, central.depth) == (1000, 10)  # only local past its bound
    assert health.get("buffer", "buffer_dropped") == 510
    assert health.get("sink-central", "buffer_dropped") == 0
    assert health.get("sink-central", "buffer_depth") == 10
    taken = await buffer.take(100, "central")
    assert taken is not None and taken.lines == [line("job", i) for i in range(10)]
    await buffer.delete_taken(taken)
    assert (local.depth, central.depth) == (1000, 0)  # the other queue is untouched
    first = await buffer.take(5, "local")
    assert first is not None and first.lines[0] == line("telemetry", 510)
    await buffer.close()
    reopened = DurableBuffer(tmp_path / "b.sqlite", Health("s"), queues=queues)
    assert await reopened.open() == 1000
    assert (reopened.queues["local"].depth, reopened.queues["central"].depth) == (1000, 0)
    await reopened.close()


async def test_a_file_from_before_several_stores_belongs_to_the_first(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, added_ns "
                   "INTEGER NOT NULL, count INTEGER NOT NULL, lines TEXT NOT NULL)")
        db.execute("INSERT INTO chunks (added_ns, count, lines) VALUES (?, 2, ?)",
                   (time.time_ns(), "a v=1 1\nb v=2 2"))
        db.commit()
    buffer = DurableBuffer(path, Health("s"), queues=[Queue("local"), Queue("central")])
    assert await buffer.open() == 2
    taken = await buffer.take(10, "local")
    assert taken is not None and taken.lines == ["a v=1 1", "b v=2 2"]
    assert await buffer.take(10, "central") is None
    await buffer.close()


def config(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "site": {"id": "s"},
        "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "sinks": [{"name": "central", "api": "v2", "url": "http://127.0.0.1:8", **changes}],
        "machines": [{"id": "m", "kind": "printer",
                      "sources": [{"topic": "t", "profile": "json"}]}]}
    return raw


@pytest.mark.parametrize(("changes", "says"), [
    ({"name": "influx"}, "sinks[0].name: duplicate name; influx has the same"),
    ({"measurements": ["job", "jobs"]},
     "sinks[0].measurements: unknown measurement 'jobs'; expected some of:"),
    ({"token_env": "CIRCLEMADE_NOT_SET"}, "sinks[0].token_env: "),
])
def test_a_bad_store_names_its_field(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config(**changes), "edge.toml", environ={})
    assert says in str(raised.value)


def write_config(tmp_path: Path, mqtt: LocalServer, local: LocalServer,
                 central: LocalServer) -> Path:
    retry = {"retry_min_s": 0.1, "retry_max_s": 1.0, "flush_interval_s": 0.05}
    path = tmp_path / "edge.toml"
    path.write_text(tomli_w.dumps({
        "site": {"id": "two", "timezone": "UTC"},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]},
        "health_interval_s": 1.0,
        "brokers": [{"port": mqtt.port, "client_id": "two-stores-edge"}],
        "influx": {"api": "v1", "url": local.url, "database": "local", **retry},
        "sinks": [{"name": "central", "api": "v2", "url": central.url, "bucket": "cluster",
                   "token_env": "CENTRAL_TOKEN", "measurements": CENTRAL, **retry}],
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": m, "kind": "printer", "silence_s": 1e8, "sources": [
            {"topic": f"two/{m}", "profile": "json",
             "time": {"path": "ts", "format": "unix_s"}}]} for m in MACHINES]}))
    return path


class Workshop:
    """Four printers at 1 Hz, a job every JOB_STEPS seconds; dated an hour back."""

    def __init__(self, mqtt: LocalServer) -> None:
        self.port, self.steps, self.base = mqtt.port, 0, int(time.time()) - 3600

    def run(self, seconds: int, wall_s: float = 0.0) -> None:
        """``seconds`` of the workshop as fast as it goes; with ``wall_s``, instead, as
        many as fit in that long of the test's clock at ten seconds per second."""
        publisher = Publisher("127.0.0.1", self.port, f"workshop-{self.steps}")
        publisher.wait_connected()
        started = time.monotonic()
        step = self.steps
        while (time.monotonic() - started < wall_s) if wall_s else step < self.steps + seconds:
            if wall_s:  # a load generator's pace, not a wait for something
                time.sleep(max(0.0, started + (step - self.steps) / 10 - time.monotonic()))
            for n, machine in enumerate(MACHINES):
                message: dict[str, Any] = {"ts": self.base + step, "state": "running",
                                           "nozzle_temp_c": 200 + n + step % 7}
                if step % JOB_STEPS == 0:
                    message.update(job_event="start", job_name=f"part-{step // JOB_STEPS}")
                elif step % JOB_STEPS == JOB_STEPS - 1:
                    message.update(job_event="end", job_outcome="good")
                publisher.publish(f"two/{machine}", orjson.dumps(message))
            step += 1
        publisher.close()
        self.steps = step

    def expected(self) -> tuple[int, int]:
        """(telemetry points, jobs) so far."""
        return self.steps * len(MACHINES), self.steps // JOB_STEPS * len(MACHINES)


def each_once(local: LocalServer, central: LocalServer, telemetry: int, jobs: int) -> None:
    """Every point in each store once, KPI windows only in the local one, and the
    central sink's own counters in the local store."""
    assert in_local(local) == in_central(central) == (telemetry, jobs)  # once, no more
    print(f"in each store, once: {telemetry} telemetry points, {jobs} jobs")
    assert stored(local.url, "local", 'SELECT "run_s" FROM "oee"')
    assert victoria_export(central, "oee_run_s") == []  # not sent to central
    sinks = stored(local.url, "local", "SELECT last(points_written) FROM edge_health "
                                       "WHERE source = 'sink-central'")
    assert sinks and sinks[0]["last"] > 0  # the central sink's own counters


def in_local(local: LocalServer) -> tuple[int, int]:
    counts = []
    for statement in ('SELECT count("nozzle_temp_c") FROM "telemetry"',
                      'SELECT count("duration_s") FROM "job"'):
        rows = stored(local.url, "local", statement) if local.process else []
        counts.append(int(rows[0]["count"]) if rows else 0)
    return counts[0], counts[1]


def in_central(central: LocalServer) -> tuple[int, int]:
    if central.process is None:
        return 0, 0
    return (sum(len(s["values"]) for s in victoria_export(central, "telemetry_nozzle_temp_c")),
            sum(len(s["values"]) for s in victoria_export(central, "job_duration_s")))


def queued(path: Path, queue: str) -> int:
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        return int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks WHERE sink = ?",
                              (queue,)).fetchone()[0])


def status(config: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "circlemade.cli", "status", "-c", str(config)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    return done.stdout + done.stderr


@pytest.mark.servers
def test_outages_of_either_store_both_and_a_killed_edge_lose_and_double_nothing(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer],
        monkeypatch: pytest.MonkeyPatch) -> None:
    mqtt, local = servers
    monkeypatch.setenv("CENTRAL_TOKEN", "not-checked-by-victoriametrics")
    central = started(local_servers.victoria_metrics(tmp_path / "central"))
    edges: list[subprocess.Popen[bytes]] = []
    try:
        path = write_config(tmp_path, mqtt, local, central)
        log = tmp_path / "edge.log"
        edges.append(start_edge(path, log))
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        workshop = Workshop(mqtt)

        workshop.run(60)
        wait_for("both stores have the first minute",
                 lambda: in_local(local) == workshop.expected() == in_central(central))

        central.stop()
        workshop.run(0, wall_s=60)  # the central store away for a minute, under load
        wait_for("local not held back by central", lambda: in_local(local) == workshop.expected())
        wait_for("status shows central failing", lambda: "FAILING" in status(path))
        assert "store central" in status(path)
        central.start()
        wait_for("central caught up", lambda: in_central(central) == workshop.expected())

        local.stop()
        workshop.run(60)
        wait_for("central not held back by local",
                 lambda: in_central(central) == workshop.expected())
        local.start()
        wait_for("local caught up", lambda: in_local(local) == workshop.expected())

        central.stop()
        local.stop()
        before = workshop.expected()
        workshop.run(60)
        telemetry, jobs = workshop.expected()
        wait_for("the last minute in the buffer, for central",
                 lambda: queued(tmp_path / "buffer.sqlite", "central")
                 == telemetry - before[0] + jobs - before[1])
        assert telemetry > 1500  # the minute under load put hundreds of steps of 4 in
        edges[0].send_signal(signal.SIGKILL)
        edges[0].wait(30)
        edges.append(start_edge(path, log))
        central.start()
        local.start()
        wait_for("both caught up after the kill",
                 lambda: in_local(local) == workshop.expected() == in_central(central))
        stop_edge(edges[1])
        each_once(local, central, telemetry, jobs)
    finally:
        for edge in edges:
            edge.kill()
            edge.wait(30)
        central.stop()
