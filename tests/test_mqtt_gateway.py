"""The MQTT gateway against a real Mosquitto: batching, and a broker that restarts."""

from __future__ import annotations

import asyncio
import fcntl
import select
import socket
import struct
import termios
import time
from functools import partial
from pathlib import Path

import pytest

from contract.raw_message import RawMessage
from contract.reading import Reading
from gateways.broker import Broker
from gateways.transports.mqtt import MAX_PENDING, READ_BURST, MqttGateway
from gateways.transports.mqtt_routes import Subscription
from gateways.transports.read_ahead_socket import ReadAheadSocket
from simulators import local_servers
from simulators.mqtt_publisher import Publisher
from tests.conftest import serve
from tests.waiting import until


def publish_size(topic: str, payload: bytes) -> int:
    """Bytes of an MQTT 3.1.1 QoS 1 PUBLISH packet (short ones: one length byte)."""
    remaining = 2 + len(topic) + 2 + len(payload)
    assert remaining < 128
    return 2 + remaining


def waiting_bytes(fd: int) -> int:
    """Bytes the kernel holds for a socket, not yet read."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


def publish_while_busy(port: int, gateway: MqttGateway, topic: str, count: int,
                       window: int) -> Publisher:
    """Publish ``count`` messages (``topic`` formatted with i % 7) while the event loop
    is kept busy here until the gateway's socket holds the broker's ``window`` of them."""
    publisher = Publisher("127.0.0.1", port, f"{gateway.client_id}-pub")
    publisher.wait_connected()
    topics = [topic.format(i % 7) for i in range(count)]
    for i, name in enumerate(topics):
        publisher.publish(name, str(i).encode(), qos=1)
    size = sum(publish_size(topics[i], str(i).encode()) for i in range(window))
    deadline = time.monotonic() + 60
    while waiting_bytes(gateway._fd) < size and time.monotonic() < deadline:
        time.sleep(0.01)  # the loop must stay busy: that is the test
    return publisher


async def collect(
    queue: asyncio.Queue[list[RawMessage | Reading] | None], count: int
) -> list[list[RawMessage]]:
    batches: list[list[RawMessage]] = []
    while sum(len(b) for b in batches) < count:
        batch = await asyncio.wait_for(queue.get(), 60)
        assert batch is not None
        raw = [message for message in batch if isinstance(message, RawMessage)]
        for message in raw:  # as the service does once they are in the buffer
            assert message.ack is not None
            message.ack()
        assert len(raw) == len(batch)
        batches.append(raw)
    return batches


async def test_messages_arrive_in_batches_in_order(mosquitto: local_servers.LocalServer) -> None:
    gateway = MqttGateway(Broker(port=mosquitto.port), "test-batches",
                          [Subscription("batch/+/data", 1, "route-a")])
    queue: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue()
    task = asyncio.create_task(gateway.run(queue))
    assert await asyncio.to_thread(gateway.connected.wait, 10)
    # paho's _create_socket and _packet_queue (batched PUBACKs) are private: a paho that
    # renames them fails here, not silently
    assert gateway._client is not None
    assert isinstance(gateway._client.socket(), ReadAheadSocket)
    assert callable(gateway._client._packet_queue)
    # a busy event loop (blocked here) while the broker sends its window of 1000
    publisher = publish_while_busy(mosquitto.port, gateway, "batch/m{}/data", 5000, 1000)
    batches = await collect(queue, 5000)
    publisher.close()
    await gateway.stop()
    await task
    messages = [m for b in batches for m in b]
    assert [int(m.payload) for m in messages] == list(range(5000))
    assert {m.route for m in messages} == {"route-a"}
    assert messages[8].topic == "batch/m1/data"
    # While the loop was busy the broker sent its window of unacknowledged messages (1000
    # in flight, deploy/mosquitto.conf) and waited: backpressure; they come as one batch.
    assert len(batches[0]) == 1000, [len(b) for b in batches][:20]
    assert len(batches) < 5000 / 20


@pytest.mark.servers
async def test_a_batch_ends_at_a_stock_brokers_window(tmp_path: Path) -> None:
    """Mosquitto as installed lets 20 messages wait for their acknowledgement: the gateway
    learns that the broker stops there and hands the batch over then, not after
    GATHER_S; past the window's size it takes the window for bigger again."""
    gen = serve(partial(local_servers.mosquitto, max_inflight=20), tmp_path / "broker")
    broker = next(gen)
    try:
        gateway = MqttGateway(Broker(port=broker.port), "test-window",
                              [Subscription("window/+", 1, "r")])
        queue: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue()
        task = asyncio.create_task(gateway.run(queue))
        assert await asyncio.to_thread(gateway.connected.wait, 10)
        publisher = publish_while_busy(broker.port, gateway, "window/m{}", 200, 20)
        first = await asyncio.wait_for(queue.get(), 60)
        assert first is not None and len(first) == 20
        assert gateway._gathering.window.window == 20  # learned: the broker sent nothing more
        assert gateway._gathering.window.in_flight == 20
        for message in first:
            assert isinstance(message, RawMessage) and message.ack is not None
            message.ack()
        rest = await collect(queue, 180)
        publisher.close()
        await gateway.stop()
        await task
    finally:
        gen.close()
    payloads = [int(m.payload) for m in first if isinstance(m, RawMessage)]
    assert payloads + [int(m.payload) for b in rest for m in b] == list(range(200))
    assert gateway._gathering.window.in_flight == 0


async def test_gateway_reconnects_after_a_broker_restart(tmp_path: Path) -> None:
    gen = serve(local_servers.mosquitto, tmp_path / "broker")
    broker_server = next(gen)
    try:
        gateway = MqttGateway(
            Broker(port=broker_server.port, reconnect_min_s=1, reconnect_max_s=2),
            "test-restart", [Subscription("restart/x", 1, "r")])
        queue: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue()
        task = asyncio.create_task(gateway.run(queue))
        assert await asyncio.to_thread(gateway.connected.wait, 10)
        broker_server.stop()
        await until("the gateway sees the broker gone", lambda: not gateway.connected.is_set())
        assert not gateway.connected.is_set()
        # a failed reconnect while the broker is away
        await until("a reconnect fails", lambda: gateway._unreachable_logged)
        broker_server.start()
        assert await asyncio.to_thread(gateway.connected.wait, 15), "no reconnect"
        publisher = Publisher("127.0.0.1", broker_server.port, "test-restart-pub")
        publisher.wait_connected()
        publisher.publish("restart/x", b"after", qos=1)
        (batch,) = await collect(queue, 1)
        assert batch[0].payload == b"after"
        publisher.close()
        await gateway.stop()
        await task
    finally:
        gen.close()


def test_read_ahead_socket_serves_small_reads_from_one_recv() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sock = ReadAheadSocket(ours)
    try:
        theirs.sendall(b"\x30\x05hello\x30\x02ok")
        select.select([ours], [], [], 10)
        assert sock.recv(1) == b"\x30" and sock.pending() == 10  # the rest is held
        assert sock.recv(1) == b"\x05" and sock.recv(5) == b"hello"
        assert sock.recv(1) == b"\x30" and sock.recv(1) == b"\x02"
        assert sock.recv(10) == b"ok" and sock.pending() == 0  # no more than it holds
        with pytest.raises(BlockingIOError):
            sock.recv(1)
        theirs.close()
        assert sock.recv(1) == b""  # the peer closed: paho sees the end as from a socket
        assert sock.fileno() == ours.fileno()  # everything else is the socket's own
    finally:
        ours.close()


async def test_reading_pauses_while_the_pipeline_holds_back(
        mosquitto: local_servers.LocalServer) -> None:
    """QoS 0 has no broker window: the gateway's own bound keeps memory flat, and nothing
    is lost while it waits."""
    gateway = MqttGateway(Broker(port=mosquitto.port), "test-pause",
                          [Subscription("pause/+", 0, "r")])
    queue: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue(maxsize=1)
    task = asyncio.create_task(gateway.run(queue))
    assert await asyncio.to_thread(gateway.connected.wait, 10)
    publisher = Publisher("127.0.0.1", mosquitto.port, "test-pause-pub")
    publisher.wait_connected()
    total = 6 * MAX_PENDING
    for i in range(total):
        publisher.publish(f"pause/m{i % 5}", str(i).encode(), qos=0)
    # nobody takes from the queue: the gateway must stop reading by itself
    await until("reading pauses", lambda: gateway._paused)
    read = [gateway._received]
    # the queue's one batch, the batch waiting to go in and the list filling meanwhile,
    # each up to the bound and a burst; without the bound it would read everything
    assert MAX_PENDING <= max(read) <= 3 * (MAX_PENDING + READ_BURST), max(read)
    received: list[int] = []
    while len(received) < total:
        batch = await asyncio.wait_for(queue.get(), 60)
        assert batch is not None
        received += [int(m.payload) for m in batch if isinstance(m, RawMessage)]
    assert received == list(range(total))
    publisher.close()
    await gateway.stop()
    await task


async def test_the_acknowledgements_of_a_batch_are_one_write() -> None:
    """paho writes each PUBACK with its own system call; a committed batch's go as one
    packet on its queue, in order, and only once the pipeline has acknowledged them all."""
    gateway = MqttGateway(Broker(port=1), "test-acks", [Subscription("a/#", 1, "r")])
    gateway._loop = asyncio.get_running_loop()
    gateway._client = client = gateway._make_client()
    gateway.connected.set()  # as after the CONNACK
    for mid in (7, 8, 300):
        gateway._acks.acknowledge(mid)
    assert not client._out_packet  # nothing yet: the rest of the batch may follow
    await until("the acknowledgements queued", lambda: bool(client._out_packet))
    (packet,) = client._out_packet
    assert packet["packet"] == bytes([0x40, 2, 0, 7, 0x40, 2, 0, 8, 0x40, 2, 1, 44])


async def test_acknowledgements_wait_for_the_connack() -> None:
    """Committed while the connection is being made again: a PUBACK queued ahead of the
    CONNECT makes the broker close the connection, so they wait for the CONNACK."""
    gateway = MqttGateway(Broker(port=1), "test-acks-reconnect", [Subscription("a/#", 1, "r")])
    gateway._loop = asyncio.get_running_loop()
    gateway._client = client = gateway._make_client()
    gateway._acks.acknowledge(9)
    await asyncio.sleep(0.05)  # the turn of the loop that would have queued it
    assert not client._out_packet and gateway._acks.unsent == [9]
    gateway.connected.set()  # the CONNACK, as _on_connect marks it
    gateway._acks.send()
    (packet,) = client._out_packet
    assert packet["packet"] == bytes([0x40, 2, 0, 9])


@pytest.mark.servers
async def test_an_untested_paho_is_read_and_acknowledged_as_paho_does(
        mosquitto: local_servers.LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A paho whose internals the fast path was not tested with: no fast path, paho's
    own acknowledgements; every message arrives once, in order, and the broker's window
    keeps moving (so they were acknowledged)."""
    from gateways.transports import mqtt, mqtt_client

    assert mqtt_client.paho_tested("2.2.0") and not mqtt_client.paho_tested("2.3.0")
    assert not mqtt_client.paho_tested("3.0.0")
    monkeypatch.setattr(mqtt, "paho_tested", lambda: False)
    gateway = MqttGateway(Broker(port=mosquitto.port), "test-untested-paho",
                          [Subscription("untested/+", 1, "route")])
    assert not gateway._fast_publish
    queue: asyncio.Queue[list[RawMessage | Reading] | None] = asyncio.Queue()
    task = asyncio.create_task(gateway.run(queue))
    assert await asyncio.to_thread(gateway.connected.wait, 10)
    publisher = Publisher("127.0.0.1", mosquitto.port, "test-untested-paho-pub")
    publisher.wait_connected()
    for i in range(3000):  # more than the broker's window of 1,000 unacknowledged
        publisher.publish(f"untested/m{i % 3}", str(i).encode(), qos=1)
    batches = await collect(queue, 3000)
    publisher.close()
    await gateway.stop()
    await task
    assert [int(m.payload) for b in batches for m in b] == list(range(3000))
