"""What a turn of the pipeline leaves to commit, and what may happen only after.

The ingest processes a batch while the commit of the one before runs in the buffer's
thread (a pipelined group commit: the CPU decodes and computes while the disk syncs).
A turn's points and KPI memory are committed in one transaction; its messages are
acknowledged, and its alerts sent, only once that commit is done, so a restart can never
count a message twice nor send an alert twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple


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
