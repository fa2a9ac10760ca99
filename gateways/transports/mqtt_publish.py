"""MQTT 3.1.1 PUBLISH packets read straight from the read-ahead buffer.

paho parses every packet in Python through a general state machine: a dict of the packet
in progress, a ``recv`` per header byte, dynamic ``struct`` formats, the payload copied
three times, an ``MQTTMessage`` and a topic-filter walk per message. Draining a backlog
that was the largest single cost of the service (bench/README.md). The common packet (a
whole QoS 0 or 1 PUBLISH already in the buffer) is taken here instead; everything else
(other packets, QoS 2, a packet not all read yet, anything malformed or odd) is left to
paho, which reads it as it always does. paho keeps the connection, the session, the
keep-alive and the acknowledgements' queue.
"""

from __future__ import annotations

from typing import NamedTuple


class Publish(NamedTuple):
    end: int
    """Where the packet ends in the buffer: the next one starts there."""
    topic: str
    payload: bytes
    qos: int
    mid: int


def next_publish(data: bytes, start: int) -> Publish | None:
    """The QoS 0 or 1 PUBLISH that starts at ``data[start]`` if all of it is there and it
    is well-formed; None leaves the bytes to paho."""
    size = len(data)
    if start + 4 > size:  # the smallest PUBLISH: header, length, an empty topic's length
        return None
    header = data[start]
    qos = (header >> 1) & 3
    if header >> 4 != 3 or qos > 1:
        return None
    length, multiplier, at = 0, 1, start + 1
    while True:  # the remaining length: up to four bytes, seven bits each
        if at >= size or at > start + 4:
            return None
        byte = data[at]
        at += 1
        length += (byte & 127) * multiplier
        if byte < 128:
            break
        multiplier *= 128
    end = at + length
    if end > size or length < 2:
        return None
    topic_end = at + 2 + ((data[at] << 8) | data[at + 1])
    payload_at = topic_end + 2 if qos else topic_end
    if payload_at > end or topic_end == at + 2:  # past the packet, or an empty topic
        return None
    try:
        topic = data[at + 2:topic_end].decode()
    except UnicodeDecodeError:
        return None
    mid = (data[topic_end] << 8) | data[topic_end + 1] if qos else 0
    if qos and not mid:  # packet identifier 0 is not allowed
        return None
    return Publish(end, topic, data[payload_at:end], qos, mid)
