"""The ceiling: a bare paho-mqtt subscriber that only JSON-decodes (orjson) each message.

Run as its own process so that its CPU and memory are its own. ``--prepare`` makes the
persistent session and leaves; without it, it receives ``--expect`` messages, printing a
JSON line when connected and one when done. With ``--fsync-to FILE`` (QoS 1) it is the
durable ceiling: it appends each payload to the file and acknowledges a message only
after an fsync that holds it (one fsync for whatever arrived meanwhile, as the edge's
group commit does).

    python bench/bare_subscriber.py --port P --client-id ID --qos 1 [--prepare | --expect N]
        [--fsync-to FILE]
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
    parser.add_argument("--fsync-to", type=Path)
    args = parser.parse_args()
    received = 0
    done, subscribed = threading.Event(), threading.Event()
    durable = Durable(args.fsync_to) if args.fsync_to and not args.prepare else None

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        nonlocal received
        orjson.loads(message.payload)
        if durable is not None:
            durable.hold(message)
        received += 1
        if received >= args.expect:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id,
                         protocol=paho.MQTTv311, clean_session=False,
                         manual_ack=durable is not None)
    if durable is not None:
        durable.start(client)
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


class Durable:
    """Payloads appended to a file; acknowledged after the fsync that holds them."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("ab")
        self._held: list[int] = []
        self._lock = threading.Lock()
        self._waiting = threading.Event()

    def hold(self, message: paho.MQTTMessage) -> None:
        with self._lock:
            self._file.write(message.payload)
            self._held.append(message.mid)
        self._waiting.set()

    def start(self, client: paho.Client) -> None:
        threading.Thread(target=self._sync, args=(client,), daemon=True).start()

    def _sync(self, client: paho.Client) -> None:
        while True:
            self._waiting.wait()
            with self._lock:
                self._waiting.clear()
                held, self._held = self._held, []
                self._file.flush()
            os.fsync(self._file.fileno())
            for mid in held:
                client.ack(mid, 1)


if __name__ == "__main__":
    main()
