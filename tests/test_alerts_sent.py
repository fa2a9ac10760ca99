"""Alerts sent through apprise to a local HTTP receiver (``json://``), by a running
service on real Mosquitto and InfluxDB: a machine in fault, one standing still in
planned time, a plug drawing 80 W while idle, a silent machine and InfluxDB down are
each told once when they fire and once when they resolve, also across a SIGKILL of the
edge; quiet hours hold a rule; a target that fails is retried, one that hangs slows
nothing."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from simulators.local_servers import LocalServer, free_port
from tests.conftest import REPO
from tests.talk import publish, start_edge, stop_edge, stored
from tests.waiting import logged, wait_for


class Receiver(http.server.ThreadingHTTPServer):
    """What apprise's json:// posts: one JSON object per message. ``answer``: 200, 500,
    or "hang" (no answer until ``released``)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), Handler)
        self.messages: list[dict[str, Any]] = []
        self.tries = 0
        self.answer: int | str = 200
        self.released = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.tries += 1
        if self.server.answer == "hang":
            self.server.released.wait(60)
        if self.server.answer == 200:
            self.server.messages.append(json.loads(body))
        self.send_response(200 if self.server.answer == 200 else 500)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()


MILL = {"id": "mill", "name": "Mill", "kind": "cnc", "sources": [
    {"topic": "a/mill", "profile": "json"}]}
SECONDS = 1 / 60
"""after_min for a second: the tests wait for conditions, not for minutes."""


def write_config(tmp_path: Path, servers: tuple[LocalServer, LocalServer], database: str,
                 alerts: list[dict[str, Any]], machines: list[dict[str, Any]] | None = None,
                 ) -> Path:
    """The mill (or ``machines``) whose alerts go to the receiver; points in ``database``;
    every hour of every day is planned."""
    mqtt, influx = servers
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "al", "timezone": "UTC"}, "health_interval_s": 0.5,
        "brokers": [{"port": mqtt.port, "client_id": f"alerts-edge-{database}"}],
        "influx": {"api": "v1", "url": influx.url, "database": database,
                   "flush_interval_s": 0.2, "retry_min_s": 0.2, "retry_max_s": 0.5},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]},
        "machines": machines or [MILL],
        "alerts": alerts}))
    return config


def told(receiver: Receiver) -> list[tuple[str, str]]:
    """(title, the message's first words) of what reached the receiver."""
    return [(m["title"], m["message"].split(":")[0]) for m in receiver.messages]


def test_a_fault_is_told_once_firing_and_once_resolved_across_a_kill(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer], receiver: Receiver) -> None:
    mqtt, influx = servers
    url = f"json://127.0.0.1:{receiver.server_address[1]}/alerts"
    config = write_config(tmp_path, servers, "al", [
        {"rule": "fault", "notify": [url]},
        {"rule": "fault", "notify": [url], "quiet": ["00:00-23:59"]}])
    log = tmp_path / "edge.log"
    edge = start_edge(config, log)
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        publish(mqtt.port, "a/mill", {"state": "running"})
        publish(mqtt.port, "a/mill", {"state": "fault"})
        wait_for("the fault told", lambda: len(receiver.messages) >= 1)
        edge.send_signal(signal.SIGKILL)
        edge.wait(60)
        edge = start_edge(config, log)
        wait_for("the edge back", lambda: log.read_text().count('"mqtt.subscribed"') >= 2)
        publish(mqtt.port, "a/mill", {"state": "running"})
        wait_for("the resolve told", lambda: len(receiver.messages) >= 2)
        wait_for("both in InfluxDB", lambda: len(stored(
            influx.url, "al", 'SELECT * FROM "alert"')) >= 2)
    finally:
        stop_edge(edge)
    titles = [m["title"] for m in receiver.messages]
    assert titles == ["circlemade: fault firing", "circlemade: fault resolved"], titles
    assert receiver.messages[0]["message"].startswith("mill (Mill): in fault since")
    # the quiet rule sent nothing; its points are the same series and time as the other's
    points = stored(influx.url, "al", 'SELECT * FROM "alert"')
    assert [p["state"] for p in points] == ["firing", "resolved"]


def test_a_target_that_fails_is_retried_and_one_that_hangs_slows_nothing(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer], receiver: Receiver) -> None:
    mqtt, influx = servers
    url = f"json://127.0.0.1:{receiver.server_address[1]}/alerts"
    config = write_config(tmp_path, servers, "al2", [{"rule": "fault", "notify": [url]}])
    log = tmp_path / "edge.log"
    receiver.answer = 500
    edge = start_edge(config, log)
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        publish(mqtt.port, "a/mill", {"state": "fault"})
        wait_for("a first try, refused", lambda: receiver.tries >= 1)
        receiver.answer = 200
        wait_for("the retry accepted", lambda: len(receiver.messages) == 1)
        receiver.answer = "hang"
        publish(mqtt.port, "a/mill", {"state": "running"})  # resolves: its sending hangs
        wait_for("the resolve being sent", lambda: receiver.tries >= 3)
        for power in range(100):  # meanwhile ingest goes on as before
            publish(mqtt.port, "a/mill", {"power_w": float(power)})
        wait_for("every reading stored while the target hangs", lambda: len(stored(
            influx.url, "al2", 'SELECT "power_w" FROM "energy"')) == 100)
        assert not receiver.released.is_set()  # it was hanging all along
    finally:
        receiver.released.set()
        stop_edge(edge)
    assert [m["title"] for m in receiver.messages] == ["circlemade: fault firing"]


def test_standing_still_drawing_power_and_silence_are_told_once_each_way(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer], receiver: Receiver) -> None:
    """The mill stands idle in planned time, the printer's Tasmota plug draws 80 W while
    it is idle, the dryer says nothing: each for more than a second; then the mill runs,
    the plug draws 5 W, the dryer speaks."""
    mqtt, influx = servers
    url = f"json://127.0.0.1:{receiver.server_address[1]}/alerts"
    config = write_config(tmp_path, servers, "al3", [
        {"rule": "stopped", "machines": ["mill"], "after_min": SECONDS, "notify": [url]},
        {"rule": "standby", "machines": ["printer"], "above_w": 50, "after_min": SECONDS,
         "notify": [url]},
        {"rule": "silent", "machines": ["dryer"], "after_min": SECONDS, "notify": [url]}],
        [MILL,
         {"id": "printer", "kind": "printer", "power_thresholds": {"running_w": 100,
                                                                   "idle_w": 10},
          "sources": [{"topic": "tele/plug-printer/+", "profile": "tasmota"}]},
         {"id": "dryer", "kind": "other", "sources": [{"topic": "a/dryer", "profile": "json"}]}])
    log = tmp_path / "edge.log"
    edge = start_edge(config, log)

    def plug(power: float, total: float) -> None:
        publish(mqtt.port, "tele/plug-printer/SENSOR", {
            "Time": "2026-12-02T10:00:00", "ENERGY": {"Total": total, "Power": power}})

    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        publish(mqtt.port, "a/dryer", {"power_w": 40.0})
        publish(mqtt.port, "a/mill", {"state": "idle"})
        plug(80.0, 12.0)
        wait_for("three alerts fired", lambda: len(receiver.messages) >= 3)
        publish(mqtt.port, "a/mill", {"state": "running"})
        plug(5.0, 12.001)
        publish(mqtt.port, "a/dryer", {"power_w": 40.0})
        wait_for("three alerts resolved", lambda: len(receiver.messages) >= 6)
        wait_for("their points stored", lambda: len(stored(
            influx.url, "al3", 'SELECT * FROM "alert"')) >= 6)
    finally:
        stop_edge(edge)
    assert sorted(told(receiver)) == [
        ("circlemade: silent firing", "dryer"), ("circlemade: silent resolved", "dryer"),
        ("circlemade: standby firing", "printer"), ("circlemade: standby resolved", "printer"),
        ("circlemade: stopped firing", "mill (Mill)"),
        ("circlemade: stopped resolved", "mill (Mill)")]
    standby = next(m["message"] for m in receiver.messages
                   if m["title"] == "circlemade: standby firing")
    assert "drawing 80 W" in standby, standby
    points = stored(influx.url, "al3", 'SELECT * FROM "alert"')
    assert sorted((p["rule"], p["state"]) for p in points) == sorted(
        (title.split()[1], title.split()[2]) for title, _ in told(receiver))


def test_influxdb_out_of_reach_is_told_once_and_so_is_its_return(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer], receiver: Receiver) -> None:
    mqtt, influx = servers
    url = f"json://127.0.0.1:{receiver.server_address[1]}/alerts"
    config = write_config(tmp_path, servers, "al4", [
        {"rule": "edge", "after_min": SECONDS, "notify": [url]}])
    log = tmp_path / "edge.log"
    edge = start_edge(config, log)
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        publish(mqtt.port, "a/mill", {"power_w": 1.0})
        wait_for("a first point written", lambda: len(stored(
            influx.url, "al4", 'SELECT "power_w" FROM "energy"')) == 1)
        influx.stop()
        for power in range(2, 12):
            publish(mqtt.port, "a/mill", {"power_w": float(power)})
        wait_for("InfluxDB's absence told", lambda: len(receiver.messages) >= 1)
        influx.start()
        wait_for("its return told", lambda: len(receiver.messages) >= 2)
        wait_for("what waited written", lambda: len(stored(
            influx.url, "al4", 'SELECT "power_w" FROM "energy"')) == 11)
        wait_for("both alerts stored", lambda: len(stored(
            influx.url, "al4", 'SELECT * FROM "alert"')) == 2)
    finally:
        stop_edge(edge)
    assert told(receiver) == [("circlemade: edge sink firing", "al edge"),
                              ("circlemade: edge sink resolved", "al edge")]
    assert "InfluxDB out of reach" in receiver.messages[0]["message"]
    points = stored(influx.url, "al4", 'SELECT * FROM "alert"')
    assert [(p["check"], p["state"]) for p in points] == [("sink", "firing"),
                                                           ("sink", "resolved")]


def test_alerts_test_says_which_target_worked_without_showing_secrets(
        tmp_path: Path, receiver: Receiver) -> None:
    dead = f"json://127.0.0.1:{free_port()}/token-in-here"  # nobody listens there
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "al"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "machines": [MILL],
        "alerts": [{"rule": "fault", "notify": [
            f"json://127.0.0.1:{receiver.server_address[1]}/alerts"],
            "notify_env": ["DEAD_TARGET"]}]}))
    done = subprocess.run([sys.executable, "-m", "circlemade.cli", "alerts", "test", "-c",
                           str(config)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "DEAD_TARGET": dead}, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["alerts[0] target 1 (json): sent",
                                        "alerts[0] target 2 (json): NOT SENT"]
    assert "token-in-here" not in done.stdout + done.stderr
    assert [m["title"] for m in receiver.messages] == ["circlemade: test"]
