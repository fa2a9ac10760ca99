"""What every store's writer shares: the protocol the sink writes through, and the two
ways a write fails.

A writer raises :class:`WriteRejected` when the store refuses the data itself (HTTP 400:
a field type conflict, a malformed line), which retrying cannot fix, and
:class:`WriteFailed` for everything worth retrying (network, timeouts, 5xx, 429, auth).
The writers themselves are in edge/storage/stores/, one module per kind of store.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Protocol, runtime_checkable

from contract.errors import PeerError


class WriteRejected(PeerError):
    """InfluxDB refused the data (4xx other than auth and rate limits); do not retry as is."""


class WriteFailed(PeerError):
    """The write did not happen and may succeed later (after ``retry_after_s``, when
    InfluxDB said so in a ``Retry-After`` header)."""

    def __init__(self, message: str, retry_after_s: float | None = None,
                 refused: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.refused = refused
        """Credentials or rights refused (401, 403): retried, but waiting will not heal
        it, so ``circlemade status`` says so at once."""


def retry_after(header: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date)."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class LineWriter(Protocol):
    async def write(self, lines: list[str]) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Preparing(Protocol):
    """A writer with something to do before the first write (InfluxDB 1.x: create the
    database); a failure there is logged and the sink retries the writes."""

    async def prepare(self) -> None: ...


_RETRYABLE_4XX = {401, 403, 404, 408, 429}
_REFUSED = {401, 403}


def classify(status: int, message: str, retry_after_header: str | None = None) -> Exception:
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return WriteRejected(f"HTTP {status}: {message.strip()[:300]}")
    return WriteFailed(f"HTTP {status}: {message.strip()[:300]}", retry_after(retry_after_header),
                       refused=status in _REFUSED)
