"""systemd's notify protocol, without a dependency: READY=1 once the service runs, and
WATCHDOG=1 from the event loop itself, so a stuck loop stops the pings and systemd
(``WatchdogSec``) restarts the service. A no-op when not started by systemd."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            return False
    return True
