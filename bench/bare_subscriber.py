"""The ceiling: a bare paho-mqtt subscriber that only JSON-decodes (orjson) each message.

Run as its own process so that its CPU and memory are its own. ``--prepare`` makes the
persistent session and leaves; without it, it receives ``--expect`` messages, printing a
JSON line when connected and one when done.

    python bench/bare_subscriber.py --port P --client-id ID --qos 1 [--prepare | --expect N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.process_stats import cpu_s, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--qos", type=int, default=1)
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--prepare", action="store_true")
    args = parser.parse_args()
    received = 0
    done, subscribed = threading.Event(), threading.Event()

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        nonlocal received
        orjson.loads(message.payload)
        received += 1
        if received >= args.expect:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id,
                         protocol=paho.MQTTv311, clean_session=False)
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: print(json.dumps(
        {"event": "connected", "t": time.time()}), flush=True)
    client.connect("127.0.0.1", args.port)
    client.subscribe("#", args.qos)
    client.loop_start()
    if args.prepare:
        subscribed.wait(10)
    else:
        done.wait(600)
        finished = time.time()
        print(json.dumps({"event": "done", "t": finished, "messages": received,
                          "cpu_s": cpu_s(os.getpid()), "peak_rss_mb": peak_rss_mb(os.getpid())}),
              flush=True)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
