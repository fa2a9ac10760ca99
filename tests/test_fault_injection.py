"""Break things on purpose and count: every sequence-numbered message must reach InfluxDB.

InfluxDB stopped for 30 s under load, the edge SIGKILLed and restarted, Mosquitto
restarted. Each test has servers of its own, so stopping them disturbs no other test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import tomli_w

from simulators import local_servers
from simulators.local_servers import LocalServer
from simulators.mqtt_publisher import Publisher
from simulators.sequence_count import stored_sequence
from tests.conftest import REPO, serve

BASE_MS = 1_795_420_800_000


def write_config(tmp_path: Path, mqtt: LocalServer, influx: LocalServer) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(tomli_w.dumps({
        "site": {"id": "faults"},
        "brokers": [{"port": mqtt.port, "client_id": "faults-edge", "reconnect_max_s": 2}],
        "influx": {"api": "v1", "url": influx.url, "database": "faults",
                   "flush_interval_s": 0.2, "retry_max_s": 2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": f"m{i}", "kind": "printer", "sources": [{
            "topic": f"faults/m{i}", "profile": "json",
            "time": {"path": "ts", "format": "unix_ms"},
            "fields": [{"path": "seq", "signal": "layer"}]}]} for i in range(2)],
    }))
    return path


@contextmanager
def edge(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "-c", str(config)],
                                   stderr=out, cwd=REPO, env={**os.environ})
    try:
        deadline = time.monotonic() + 20
        while '"mqtt.connected"' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def publish(mqtt: LocalServer, first: int, count: int, rate: float, client: str) -> None:
    publisher = Publisher("127.0.0.1", mqtt.port, client)
    publisher.wait_connected()
    for seq in range(first, first + count):
        payload = orjson.dumps({"seq": seq, "ts": BASE_MS + seq})
        publisher.publish(f"faults/m{seq % 2}", payload, qos=1)
        time.sleep(1 / rate)
    publisher.close(timeout_s=120)


def stored(influx: LocalServer) -> set[int]:
    return asyncio.run(stored_sequence(influx.url, "faults"))


def wait_for_all(influx: LocalServer, expected: int, timeout_s: float = 90) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = stored(influx)
        if len(found) >= expected:
            return found
        time.sleep(0.5)
    return stored(influx)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[LocalServer, LocalServer]]:
    """A Mosquitto and an InfluxDB of this test's own, free to be stopped."""
    mqtt_gen = serve(local_servers.mosquitto, tmp_path / "mqtt")
    influx_gen = serve(local_servers.influxdb1, tmp_path / "influx")
    try:
        yield next(mqtt_gen), next(influx_gen)
    finally:
        mqtt_gen.close()
        influx_gen.close()


def test_influxdb_down_for_30_s_under_load(tmp_path: Path,
                                           servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_config(tmp_path, mqtt, influx)
    with edge(config, tmp_path / "edge.log"):
        sender = threading.Thread(target=publish, args=(mqtt, 0, 6000, 150, "load"))
        sender.start()
        time.sleep(3)
        influx.stop()
        time.sleep(30)
        influx.start()
        sender.join()
        found = wait_for_all(influx, 6000)
    log = tmp_path.joinpath("edge.log").read_text()
    assert found == set(range(6000)), f"{6000 - len(found)} messages missing"
    assert '"sink.write_failed"' in log and '"sink.write_recovered"' in log


def test_edge_killed_under_load_and_restarted(tmp_path: Path,
                                              servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_config(tmp_path, mqtt, influx)
    sender = threading.Thread(target=publish, args=(mqtt, 0, 4000, 400, "load"))
    with edge(config, tmp_path / "edge-1.log") as first:
        sender.start()
        time.sleep(3)
        first.send_signal(signal.SIGKILL)
        first.wait()
    time.sleep(2)  # messages keep coming while the edge is dead
    with edge(config, tmp_path / "edge-2.log"):
        sender.join()
        found = wait_for_all(influx, 4000)
    assert found == set(range(4000)), f"{4000 - len(found)} messages missing"
    events = [json.loads(line)["event"] for line in
              tmp_path.joinpath("edge-2.log").read_text().splitlines()]
    assert "service.started" in events


def test_mosquitto_restarted(tmp_path: Path, servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_config(tmp_path, mqtt, influx)
    with edge(config, tmp_path / "edge.log"):
        publish(mqtt, 0, 500, 1000, "before")
        mqtt.stop()
        time.sleep(2)
        mqtt.start()
        time.sleep(4)  # the edge reconnects by itself (backoff at most 2 s)
        publish(mqtt, 500, 500, 1000, "after")
        found = wait_for_all(influx, 1000)
    assert found == set(range(1000)), f"{1000 - len(found)} messages missing"
    log = tmp_path.joinpath("edge.log").read_text()
    assert log.count('"mqtt.connected"') >= 2
