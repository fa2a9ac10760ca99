"""paho's external loop on asyncio, as aiomqtt runs it: connecting forever with capped
backoff (the blocking TCP/TLS connect in a worker thread), the socket callbacks watching
the client's socket with the event loop's readers and writers, and ``loop_misc`` keeping
the session alive. The MQTT gateway (gateways/transports/mqtt.py) says what reading is."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

from contract.eventlog import describe, log_event
from gateways.broker import Broker
from gateways.transports.mqtt_client import session_options


class PahoOnAsyncio:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._closing = False
        self._delay_s = broker.reconnect_min_s
        self._unreachable_logged = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._fd = -1
        self._paused = False
        """Reading stopped until the pipeline takes what is pending."""
        self._socket_closed = asyncio.Event()
        self._client: paho.Client | None = None

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def _watch_sockets(self, client: paho.Client) -> None:
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write

    def _readable(self, client: paho.Client) -> None:
        raise NotImplementedError

    async def _connect_forever(self, client: paho.Client) -> None:
        while not self._closing:
            self._socket_closed.clear()
            try:
                rc = await asyncio.to_thread(
                    client.connect, self.broker.host, self.broker.port,
                    keepalive=self.broker.keepalive_s, **session_options(self.broker))
                if rc != paho.MQTT_ERR_SUCCESS:
                    raise ConnectionError(paho.error_string(rc))
            except (OSError, ssl.SSLError) as error:
                self._unreachable(error)
            else:
                keepalive = asyncio.create_task(self._keep_alive(client))
                await self._socket_closed.wait()
                keepalive.cancel()
            if self._closing:
                return
            await asyncio.sleep(self._delay_s)
            self._delay_s = min(self._delay_s * 2, max(1.0, self.broker.reconnect_max_s))

    def _unreachable(self, error: Exception) -> None:
        if not self._unreachable_logged:
            self._unreachable_logged = True
            log_event("mqtt.unreachable", logging.WARNING, broker=self.broker.id,
                      host=self.broker.host, port=self.broker.port, error=describe(error),
                      retry_max_s=self.broker.reconnect_max_s)


    async def _keep_alive(self, client: paho.Client) -> None:
        """paho's pings and its check that the broker still answers."""
        while True:
            await asyncio.sleep(1.0)
            if client.loop_misc() != paho.MQTT_ERR_SUCCESS:
                return

    def _in_loop(self, callback: Callable[..., object], *args: Any) -> None:
        """paho calls the socket callbacks from the connecting worker thread too."""
        assert self._loop is not None
        if threading.get_ident() == self._loop_thread:
            callback(*args)
        else:
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._fd = sock.fileno()
        self._in_loop(self._watch, client, self._fd)

    def _watch(self, client: paho.Client, fd: int) -> None:
        if fd == self._fd:  # not closed meanwhile
            self._start_reading(client)

    def _resume_reading(self) -> None:
        if self._fd >= 0 and self._client is not None:
            self._start_reading(self._client)

    def _start_reading(self, client: paho.Client) -> None:
        assert self._loop is not None
        self._paused = False
        self._loop.add_reader(self._fd, self._readable, client)
        self._loop.call_soon(self._readable, client)  # what the read-ahead already holds

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        fd, self._fd = self._fd, -1
        self._in_loop(self._unwatch, fd)

    def _unwatch(self, fd: int) -> None:
        assert self._loop is not None
        if fd >= 0:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        self._socket_closed.set()

    def _on_socket_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._in_loop(self._watch_write, client, sock.fileno())

    def _watch_write(self, client: paho.Client, fd: int) -> None:
        assert self._loop is not None
        if fd == self._fd:
            self._loop.add_writer(fd, client.loop_write)

    def _on_socket_unregister_write(self, client: paho.Client, userdata: Any,
                                    sock: Any) -> None:
        assert self._loop is not None
        self._in_loop(self._loop.remove_writer, sock.fileno())
