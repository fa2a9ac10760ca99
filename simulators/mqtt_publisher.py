"""The simulators' MQTT side: a paho client whose network loop runs in its own thread."""

from __future__ import annotations

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class Publisher:
    def __init__(self, host: str, port: int, client_id: str) -> None:
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=paho.MQTTv5)
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)
        self._client.connect_async(host, port)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; paho sends it (again, after a reconnect) from its thread."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
