"""What the benchmarks share: the local servers, the contenders' processes, publishers."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.workload import MARKER_TOPIC, Workshop, marker_payload
from simulators import local_servers
from simulators.local_servers import LocalServer
from simulators.mqtt_publisher import Publisher

REPO = Path(__file__).resolve().parent.parent
TOKEN_ENV = "BENCH_VM_TOKEN"


class Servers:
    def __init__(self, root: Path) -> None:
        self.root = root
        # queue_qos0_messages: the QoS 0 contenders get their queue too
        self.mqtt = local_servers.mosquitto(root / "mqtt", listener_options=(
            "queue_qos0_messages true\n")).start()
        self.influx = local_servers.influxdb1(root / "influx").start()
        self.victoria = local_servers.victoria_metrics(root / "victoria").start()
        self._windows: dict[int, LocalServer] = {}

    def broker(self, window: int = 0) -> LocalServer:
        """The broker; with ``window``, one that lets that many messages wait for their
        acknowledgement (Mosquitto's default is 20), started on first use."""
        if not window:
            return self.mqtt
        if window not in self._windows:
            self._windows[window] = local_servers.mosquitto(
                self.root / f"mqtt-window-{window}", max_inflight=window).start()
        return self._windows[window]

    def stop(self) -> None:
        for server in (self.mqtt, self.influx, self.victoria, *self._windows.values()):
            server.stop()


@contextmanager
def servers_running() -> Iterator[Servers]:
    with tempfile.TemporaryDirectory(prefix="circlemade-bench-") as tmp:
        servers = Servers(Path(tmp))
        try:
            yield servers
        finally:
            servers.stop()


def publish(port: int, workshop: Workshop, messages: int, sequence: int) -> None:
    publisher = Publisher("127.0.0.1", port, f"bench-publisher-{sequence}")
    publisher.wait_connected()
    for topic, payload in workshop.messages(messages):
        publisher.publish(topic, payload, qos=1)
    publisher.publish(MARKER_TOPIC, marker_payload(sequence), qos=1)
    publisher.close(timeout_s=600)


def forget_session(port: int, client_id: str) -> None:
    """End a contender's persistent session: left behind, Mosquitto would keep queueing
    every later message of the benchmark for it (and persisting them), slowing down
    whatever runs next."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=paho.MQTTv311, clean_session=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


class Process:
    """A contender's process; ``connected`` when its log says it has its session."""

    def __init__(self, command: list[str], connected_when: Callable[[str], bool],
                 cwd: Path = REPO, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.connected = threading.Event()
        self.connected_at = 0.0
        self._when = connected_when
        self.popen = subprocess.Popen(command, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                      env={**os.environ, **(env or {})})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line)
            if not self.connected.is_set() and self._when(line):
                self.connected_at = time.time()
                self.connected.set()

    def wait_connected(self, timeout_s: float = 60) -> None:
        if not self.connected.wait(timeout_s):
            self.stop()
            raise RuntimeError("no connection; its output:\n" + "".join(self.lines[-30:]))

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def circlemade(config: Path, env: dict[str, str] | None = None) -> Process:
    return Process([sys.executable, "-m", "circlemade.cli", "run", "-c", str(config)],
                   lambda line: '"mqtt.connected"' in line,
                   env={TOKEN_ENV: "victoria-metrics-checks-no-token", **(env or {})})


def points_written(process: Process) -> int:
    """What circlemade-edge wrote, from the counters it logs on stopping; an error if it
    refused any message (the benchmark would be measuring its error path)."""
    for line in reversed(process.lines):
        if '"service.stopped"' in line:
            counters = json.loads(line)["counters"]
            refused = {source: c["decode_errors"] for source, c in counters.items()
                       if c.get("decode_errors")}
            if refused:
                raise RuntimeError(f"circlemade-edge refused messages: {refused}")
            return int(counters["sink"]["points_written"])
    raise RuntimeError("circlemade-edge did not report its counters on stopping")


class PacedPublisher:
    """A process publishing the workload live at ``rate`` messages/s, device time = now."""

    def __init__(self, port: int, machines: int, rate: float, duration_s: float) -> None:
        self.sent = multiprocessing.Value("q", 0)
        self.process = multiprocessing.Process(
            target=_publish_paced, args=(port, machines, rate, duration_s, self.sent),
            daemon=True)
        self.process.start()
        self.started = time.monotonic()

    def join(self) -> float:
        """Wait for the end; the rate achieved, messages/s."""
        self.process.join()
        return int(self.sent.value) / (time.monotonic() - self.started)


def _publish_paced(port: int, machines: int, rate: float, duration_s: float,
                   counter: Any) -> None:
    workshop = Workshop(machines)
    publisher = Publisher("127.0.0.1", port, f"bench-paced-{os.getpid()}")
    publisher.wait_connected()
    started = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - started) < duration_s:
        behind = int(elapsed * rate) - sent
        if behind <= 0:
            time.sleep(0.002)
            continue
        for topic, payload in workshop.live(behind):
            publisher.publish(topic, payload, qos=1)
        sent += behind
        counter.value = sent
    publisher.close(timeout_s=60)
