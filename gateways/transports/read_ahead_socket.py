"""A socket that reads ahead, for paho-mqtt's packet reader.

paho reads each packet in three or four ``recv`` calls (the type byte, each byte of the
remaining length, the body): at thousands of messages a second those system calls were
the largest single cost of the edge (14 % of its CPU, bench/README.md). Reading 64 KiB at
a time and serving paho's small reads from memory makes that one call per few hundred
messages. ``pending()`` says what is held, as an SSL socket's does, because the file
descriptor no longer shows it.
"""

from __future__ import annotations

from typing import Any

READ_SIZE = 65536


class ReadAheadSocket:
    __slots__ = ("_buffer", "_position", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._position = 0

    def recv(self, bufsize: int) -> bytes:
        buffer, position = self._buffer, self._position
        if position >= len(buffer):
            buffer = bytes(self._sock.recv(READ_SIZE))  # BlockingIOError, b"" (closed) pass up
            if not buffer:
                return buffer
            self._buffer, position = buffer, 0
        end = min(position + bufsize, len(buffer))
        self._position = end
        return buffer[position:end]

    def held(self) -> tuple[bytes, int]:
        """The bytes read ahead and where the next read starts, for a reader that takes
        whole packets from them (gateways/transports/mqtt_publish.py); :meth:`advance` past what it
        took."""
        return self._buffer, self._position

    def advance(self, position: int) -> None:
        self._position = position

    def pending(self) -> int:
        inner = getattr(self._sock, "pending", None)  # an SSL socket's decrypted bytes
        return len(self._buffer) - self._position + (inner() if inner else 0)

    def __getattr__(self, name: str) -> Any:  # send, fileno, setblocking, close, ...
        return getattr(self._sock, name)
