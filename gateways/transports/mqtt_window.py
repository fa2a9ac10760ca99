"""How many QoS 1 messages the broker lets wait for their acknowledgement: its in-flight
window (Mosquitto's ``max_inflight_messages``, 20 unless configured; MQTT 5's receive
maximum), learned from what arrives.

The edge acknowledges a message only once its batch is committed, so a broker at its
window sends nothing more until then: gathering a batch any longer would only add
latency. Below the window, gathering longer makes fewer, larger commits (an fsync and the
KPI memory of the machines touched each): many machines each sending now and then would
otherwise cost a commit of a few messages every few milliseconds."""

from __future__ import annotations


class BrokerWindow:
    def __init__(self) -> None:
        self.in_flight = 0
        """QoS 1 messages received and not yet acknowledged."""
        self.largest = 0
        """The most ever in flight at once."""
        self.window: int | None = None
        """Where the broker last held back, until more than that arrive in flight."""

    def received(self) -> None:
        in_flight = self.in_flight = self.in_flight + 1
        if in_flight > self.largest:
            self.largest = in_flight
        if self.window is not None and in_flight > self.window:
            self.window = None

    def acknowledged(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def reached(self) -> bool:
        """As many in flight as where the broker held back before: none will come."""
        return self.window is not None and self.in_flight >= self.window

    def enough(self, gathered: int) -> bool:
        """Hand the batch over: the window is reached, or half of it gathered (the other
        half then arrives while this one is committed: a batch of the whole window would
        leave the broker waiting for every commit)."""
        return self.reached() or (self.window is not None and 2 * gathered >= self.window)

    def at_largest(self) -> bool:
        """As many in flight as ever were: the window may be here, if nothing more comes."""
        return 0 < self.in_flight >= self.largest

    def quiet(self) -> bool:
        """Nothing came for a while: True, and the window taken to be here, when as many
        are in flight as ever were (a quiet moment below that is the devices')."""
        if self.at_largest():
            self.window = self.in_flight
            return True
        return False

    def reconnected(self) -> None:
        """A new connection: the broker sends again what was not acknowledged."""
        self.in_flight = 0
