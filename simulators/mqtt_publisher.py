"""The simulators' MQTT side: a paho client whose network loop runs in its own thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

Message = tuple[str, bytes, bool]
"""What a simulated device sends: topic, payload, retain."""


class Publisher:
    """Connects in the background; :meth:`wait_connected` before publishing keeps order
    (paho sends messages queued before the connection after newer ones)."""

    def __init__(self, host: str, port: int, client_id: str,
                 will: tuple[str, bytes] | None = None) -> None:
        self.connected = threading.Event()
        self._unacked = 0
        self._lock = threading.Lock()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=paho.MQTTv311)
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1)
        self._client.connect_async(host, port)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float = 10.0) -> None:
        if not self.connected.wait(timeout_s):
            raise ConnectionError(f"publisher: no MQTT connection after {timeout_s} s")

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; paho sends it (again, after a reconnect) from its thread."""
        with self._lock:
            self._unacked += 1
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def close(self, timeout_s: float = 30.0) -> None:
        """Disconnect once the broker has acknowledged everything published (or timeout):
        paho drops what is still queued when it disconnects."""
        deadline = time.monotonic() + timeout_s
        while self._unacked > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self._client.disconnect()
        self._client.loop_stop()

    def _on_publish(self, *args: Any) -> None:
        with self._lock:
            self._unacked -= 1

    def _on_connect(self, *args: Any) -> None:
        self.connected.set()

    def _on_disconnect(self, *args: Any) -> None:
        self.connected.clear()
