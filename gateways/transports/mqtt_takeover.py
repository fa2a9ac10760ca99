"""Two edges with one MQTT client id take the session from each other for ever: seen
here, counted, told once in a while, and the reconnects slowed to their cap."""

from __future__ import annotations

import logging
import time
from typing import Any

from contract.counters import Counters
from contract.eventlog import Throttle

TAKEOVER_S = 10.0
"""A session the broker ends this soon after it began, three times within a minute, is
taken by another client with the same id: Mosquitto just closes the socket (paho reports
"Unspecified error" with MQTT 3.1.1 and 5 alike). A broker that sends MQTT 5's reason 142,
"Session taken over", is believed at once."""
SESSION_TAKEN_OVER = 142


class TakeoverWatch:
    def __init__(self, broker_id: str, client_id: str, health: Counters | None) -> None:
        self.broker_id, self.client_id, self.health = broker_id, client_id, health
        self._connected_at = 0.0
        self._short_sessions: list[float] = []
        self._throttle = Throttle()

    def connected(self) -> None:
        self._connected_at = time.monotonic()

    def taken_over(self, reason: Any) -> bool:
        """Whether the session the broker ended (with ``reason``) was taken by another
        client with the same id; told when it was."""
        now = time.monotonic()
        if now - self._connected_at < TAKEOVER_S:
            self._short_sessions = [t for t in self._short_sessions if now - t < 60] + [now]
        if getattr(reason, "value", None) != SESSION_TAKEN_OVER and len(
                self._short_sessions) < 3:
            return False
        self._short_sessions.clear()
        if self.health is not None:
            self.health.count(f"mqtt:{self.broker_id}", "client_id_conflicts")
        self._throttle.event("takeover", "mqtt.client_id_conflict", logging.ERROR,
                             broker=self.broker_id, client_id=self.client_id,
                             message=f"another client uses client id {self.client_id!r}: "
                             "the broker gives the session to whichever connected last. "
                             "Give each edge its own [[brokers]] client_id (unset, it "
                             "includes the host name)")
        return True
