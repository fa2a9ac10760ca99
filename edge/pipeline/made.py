"""What a turn of the pipeline leaves to commit, and what may happen only after.

The ingest processes a batch while the commit of the one before runs in the buffer's
thread (a pipelined commit: the CPU decodes and computes while the disk syncs).
A turn's points and KPI memory are committed in one transaction; its messages are
acknowledged, and its alerts sent, only once that commit is done, so a restart can never
count a message twice nor send an alert twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from contract.eventlog import log_event
from edge.storage.buffer import BufferBlocked, DurableBuffer
from edge.storage.health import Health


@dataclass
class Made:
    lines: list[str]
    state: dict[str, bytes]
    """The KPI memory the lines leave (machine -> stored form)."""
    then: list[Callable[[], object]]
    """Acknowledgements and alerts, for once the commit is done."""

    def joined(self, later: Made | None) -> Made:
        """This turn and the next as one commit (a full disk refused this one)."""
        if later is None:
            return self
        return Made(self.lines + later.lines, {**self.state, **later.state},
                    self.then + later.then)


class InFlight(NamedTuple):
    made: Made
    commit: asyncio.Future[None]


def acknowledged(made: Made, wake: asyncio.Queue[Any], commit: asyncio.Future[None]) -> None:
    """A commit done: its messages acknowledged now (its alerts sent). One the full disk
    refused wakes the ingest (an empty batch), which makes it again once there is room."""
    if commit.cancelled() or commit.exception() is not None:
        with contextlib.suppress(asyncio.QueueFull):
            wake.put_nowait([])
        return
    for then in made.then:
        then()


class Room:
    """Commits that wait while the buffer's disk is full (or read-only): nothing is
    acknowledged meanwhile, so the broker keeps the messages and reading stops once the
    queues are full; the sink drains to InfluxDB, which frees room."""

    def __init__(self, health: Health) -> None:
        self._health = health
        self.full = False

    async def commit(self, buffer: DurableBuffer, lines: list[str],
                     state: dict[str, bytes] | None = None, drafts: Sequence[str] = (),
                     ) -> None:
        delay = 0.5
        while True:
            try:
                await buffer.append(lines, state, drafts)
            except BufferBlocked as exc:
                self._health.count("buffer", "buffer_full")
                if not self.full:
                    self.full = True
                    log_event("buffer.blocked", logging.ERROR, path=str(buffer.path),
                              error=str(exc), free_bytes=exc.free_bytes,
                              action="messages are not acknowledged until it takes points "
                                     "again; the sink goes on draining to InfluxDB")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if self.full:
                self.full = False
                log_event("buffer.room_again", path=str(buffer.path), points=len(lines))
            return
