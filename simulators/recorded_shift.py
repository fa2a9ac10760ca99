"""A simulated fleet written straight to a recording, without a broker: hours of shop
floor in seconds, for replays, dashboard checks and previews."""

from __future__ import annotations

from contract.raw_message import RawMessage
from edge.tools.recording import mqtt_record
from simulators.fleet import Fleet


def fleet_recording(fleet: Fleet, start_s: int, hours: float, step_s: int = 30) -> list[bytes]:
    """JSON lines of every message the fleet's MQTT devices send, every ``step_s``."""
    lines = []
    for tick in range(int(hours * 3600 // step_s)):
        now = start_s + tick * step_s
        for device in fleet.devices():
            for topic, payload, _ in device.messages(now):
                lines.append(mqtt_record(RawMessage("", topic, payload, now * 10**9)))
        fleet.step(step_s)
    return lines
