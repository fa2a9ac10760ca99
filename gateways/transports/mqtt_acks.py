"""QoS 1 acknowledgements, a batch at a time: the pipeline acknowledges a committed batch
in one go, and paho writes each PUBACK with a system call of its own (bench/README.md,
the drain's profile), so the PUBACKs of a batch go out as one packet."""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Callable

import paho.mqtt.client as paho

_PUBACK = struct.Struct("!BBH").pack
"""PUBACK: the packet type, remaining length 2 and the packet identifier."""


class PubAcks:
    def __init__(self, client: Callable[[], paho.Client | None],
                 loop: Callable[[], asyncio.AbstractEventLoop | None],
                 connected: threading.Event, fast: bool) -> None:
        """``fast``: this paho's internals were tested (``_packet_queue``); otherwise
        each PUBACK is paho's own."""
        self.client, self.loop, self.connected, self.fast = client, loop, connected, fast
        self.unsent: list[int] = []

    def acknowledge(self, mid: int) -> None:
        """A QoS 1 message's PUBACK, sent with the others of its batch."""
        if not self.unsent:
            loop = self.loop()
            assert loop is not None
            loop.call_soon(self.send)
        self.unsent.append(mid)

    def send(self) -> None:
        """The PUBACKs of a batch as one packet on paho's outgoing queue (4 bytes each,
        the same in MQTT 3.1.1 and 5 for success), written as paho writes every packet;
        while the connection is being made again they wait for its CONNACK."""
        if not self.connected.is_set():
            return  # held until the CONNACK: a PUBACK ahead of CONNECT ends the connection
        mids, self.unsent = self.unsent, []
        client = self.client()
        if client is not None and mids and not self.fast:
            for mid in mids:  # paho's own, one packet each
                client.ack(mid, 1)
        elif client is not None and mids:
            packet = b"".join([_PUBACK(0x40, 2, mid) for mid in mids])
            client._packet_queue(paho.PUBACK, packet, 0, 0)
