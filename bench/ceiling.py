"""The raw ceiling of this machine for MQTT ingest: a bare paho-mqtt subscriber that only
decodes the JSON of each message (orjson), against the same publisher and messages as
bench/ingest.py. Prints the figures; medians of several runs.

    .venv/bin/python bench/ceiling.py [--messages 60000] [--runs 3] [--qos 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from simulators import local_servers

MACHINES = 50


def publish(port: int, messages: int, qos: int) -> None:
    from ingest import publish as publish_status  # same payloads as bench/ingest.py

    started = multiprocessing.Value("d", 0.0)
    publish_status(port, messages, MACHINES, started, qos)


def run_once(port: int, messages: int, qos: int, run: int) -> float:
    received = 0
    done = threading.Event()
    first: list[float] = []

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        nonlocal received
        orjson.loads(message.payload)
        if not first:
            first.append(time.perf_counter())
        received += 1
        if received >= messages:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"ceiling-{run}",
                         protocol=paho.MQTTv311)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("bench/#", qos)
    client.loop_start()
    time.sleep(0.5)
    publisher = multiprocessing.Process(target=publish, args=(port, messages, qos))
    publisher.start()
    done.wait(600)
    seconds = time.perf_counter() - first[0]
    publisher.join()
    client.disconnect()
    client.loop_stop()
    return messages / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--qos", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlemade-ceiling-") as tmp, \
            local_servers.mosquitto(Path(tmp) / "mqtt") as mqtt:
        rates = []
        for run in range(args.runs):
            rates.append(run_once(mqtt.port, args.messages, args.qos, run))
            print(f"run {run + 1}: {rates[-1]:,.0f} msg/s", flush=True)
    print(f"median: {statistics.median(rates):,.0f} msg/s (bare paho + orjson, QoS {args.qos})")


if __name__ == "__main__":
    main()
