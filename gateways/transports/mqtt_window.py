"""When the batch the MQTT gateway gathers goes to the pipeline, and the broker's
in-flight window that decides it.

The window is how many QoS 1 messages the broker lets wait for their acknowledgement
(Mosquitto's ``max_inflight_messages``, 20 unless configured; MQTT 5's receive
maximum), learned from what arrives. The edge acknowledges a message only once its batch
is committed, so a broker at its window sends nothing more until then: gathering any
longer would only add latency. Below the window, gathering longer makes fewer, larger
commits (an fsync and the KPI memory of the machines touched each): many machines each
sending now and then would otherwise cost a commit of a few messages every few
milliseconds (bench/README.md, the Pi 4 core)."""

from __future__ import annotations

import asyncio

GATHER_S = 0.05
"""A batch gathers this long after its first message, unless the broker's window is
reached first or it holds :data:`BATCH_ENOUGH`. 50 ms of latency, far inside a second."""

QUIET_S = 0.005
"""No message for this long, as many in flight as ever were: the broker's window."""

BATCH_ENOUGH = 2_000
"""Messages that make a batch whatever the time (a backlog draining at QoS 0)."""


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


class Gathering:
    """The batch being gathered: the gateway counts what arrives and says when reading
    stops; :meth:`until_ready` returns when the batch should go."""

    def __init__(self) -> None:
        self.window = BrokerWindow()
        self.gathered = 0
        self.stopping = False
        self._ready = asyncio.Event()

    def received(self, qos: int) -> None:
        self.gathered += 1
        if qos == 1:
            self.window.received()
        if self.gathered >= BATCH_ENOUGH:
            self._ready.set()

    def read(self) -> None:
        """Reading stopped for now: at the window (or at the most in flight so far)
        the batch may go."""
        if self.window.enough(self.gathered) or self.window.at_largest():
            self._ready.set()

    def stop(self) -> None:
        self.stopping = True
        self._ready.set()

    async def until_ready(self) -> None:
        """Until :data:`GATHER_S` passed, the window is reached or half of it gathered,
        or :data:`BATCH_ENOUGH` messages wait; then a new batch begins."""
        loop = asyncio.get_running_loop()
        until = loop.time() + GATHER_S
        window = self.window
        while not (self.stopping or window.enough(self.gathered)
                   or self.gathered >= BATCH_ENOUGH):
            left = until - loop.time()
            if left <= 0:
                break
            if window.at_largest():
                gathered = self.gathered
                await asyncio.sleep(min(QUIET_S, left))
                if self.gathered == gathered and window.quiet():
                    break
                continue
            self._ready.clear()
            try:
                async with asyncio.timeout(left):
                    await self._ready.wait()
            except TimeoutError:
                break
        self.gathered = 0
