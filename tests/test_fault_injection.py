"""Break things on purpose and count: every sequence-numbered message must reach InfluxDB.

InfluxDB stopped under load (20 s of messages), the edge SIGKILLed and restarted, Mosquitto
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
from dataclasses import dataclass
from pathlib import Path

import orjson
import tomli_w

from simulators.local_servers import LocalServer
from simulators.mqtt_publisher import Publisher
from simulators.sequence_count import stored_sequence
from tests.conftest import REPO
from tests.waiting import logged, wait_for

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
        process = subprocess.Popen([sys.executable, "-m", "circlemade.cli", "run", "-c",
                                    str(config)],
                                   stderr=out, cwd=REPO, env={**os.environ})
    try:
        wait_for(f"the service connects ({log})", logged(log, "mqtt.connected"))
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


@dataclass
class Sent:
    """How many messages a publisher in another thread has sent so far."""

    count: int = 0


def publish(mqtt: LocalServer, first: int, count: int, rate: float, client: str,
            sent: Sent | None = None) -> None:
    """``count`` messages paced at ``rate`` a second (a workshop's steady load)."""
    publisher = Publisher("127.0.0.1", mqtt.port, client)
    publisher.wait_connected()
    for seq in range(first, first + count):
        payload = orjson.dumps({"seq": seq, "ts": BASE_MS + seq})
        publisher.publish(f"faults/m{seq % 2}", payload, qos=1)
        if sent is not None:
            sent.count += 1
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


def test_influxdb_down_under_load(tmp_path: Path,
                                  servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_config(tmp_path, mqtt, influx)
    log = tmp_path / "edge.log"
    sent = Sent()
    with edge(config, log):
        sender = threading.Thread(target=publish, args=(mqtt, 0, 6000, 150, "load", sent))
        sender.start()
        wait_for("points reach InfluxDB", lambda: bool(stored(influx)))
        influx.stop()
        down_at = sent.count
        wait_for("the sink notices", logged(log, "sink.write_failed"))
        wait_for("3,000 messages sent while InfluxDB is away (20 s of load)",
                 lambda: sent.count >= down_at + 3000)
        influx.start()
        sender.join()
        found = wait_for_all(influx, 6000)
    text = log.read_text()
    assert found == set(range(6000)), f"{6000 - len(found)} messages missing"
    assert '"sink.write_failed"' in text and '"sink.write_recovered"' in text


def test_edge_killed_under_load_and_restarted(tmp_path: Path,
                                              servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    config = write_config(tmp_path, mqtt, influx)
    sent = Sent()
    sender = threading.Thread(target=publish, args=(mqtt, 0, 4000, 400, "load", sent))
    with edge(config, tmp_path / "edge-1.log") as first:
        sender.start()
        wait_for("points reach InfluxDB", lambda: bool(stored(influx)))
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = sent.count
    wait_for("messages keep coming while the edge is dead",
             lambda: sent.count >= min(killed_at + 500, 4000))
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
    log = tmp_path / "edge.log"
    with edge(config, log):
        publish(mqtt, 0, 500, 1000, "before")
        mqtt.stop()
        wait_for("the edge notices", logged(log, "mqtt.disconnected"))
        mqtt.start()
        wait_for("the edge reconnects by itself",
                 lambda: log.read_text().count('"mqtt.connected"') >= 2)
        publish(mqtt, 500, 500, 1000, "after")
        found = wait_for_all(influx, 1000)
    assert found == set(range(1000)), f"{1000 - len(found)} messages missing"
    assert log.read_text().count('"mqtt.connected"') >= 2
