"""Two pseudo-terminals joined back to back, like a null-modem cable (or socat's
``pty,raw pty,raw``): a simulated RS-485 device listens on one end, the edge opens the
other, and Modbus RTU frames cross between them byte for byte."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty


class SerialPair:
    def __init__(self) -> None:
        (self._a, a), (self._b, b) = os.openpty(), os.openpty()
        for end in (a, b):
            tty.setraw(end)
        self._ends = (a, b)
        self.device, self.edge = os.ttyname(a), os.ttyname(b)
        """The device's end and the edge's end, e.g. /dev/pts/3."""
        self._closed = threading.Event()
        self._relay = threading.Thread(target=self._carry, daemon=True)
        self._relay.start()

    def _carry(self) -> None:
        other = {self._a: self._b, self._b: self._a}
        while not self._closed.is_set():
            ready, _, _ = select.select(list(other), [], [], 0.2)
            for fd in ready:
                try:
                    os.write(other[fd], os.read(fd, 4096))
                except OSError:  # an end closed: nothing more to carry
                    return

    def close(self) -> None:
        self._closed.set()
        self._relay.join(5)
        for fd in (self._a, self._b, *self._ends):
            with contextlib.suppress(OSError):
                os.close(fd)
