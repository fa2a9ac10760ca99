"""Which write of a point this is, so that VictoriaMetrics keeps the newest.

Run with ``-dedup.minScrapeInterval=1s``, VictoriaMetrics keeps of each series one sample
per second: the one with the biggest timestamp (of equal timestamps, one by its own rule,
the biggest value in current releases: tests/test_victoria_rewrites.py). So the edge
writes a point at its whole second plus its revision in milliseconds: a draft (an open
window as far as it has gone) at 0, the first final write at 1, each rewrite (a verdict,
a late reading) one more, up to 999. The newest write wins whatever its value, in the
store itself, so dashboards and the report agree with InfluxDB (docs/cluster.md).

The revisions of the points written are remembered (the most recent ``limit``); a point
timed before the writer started, or before the oldest forgotten one, is looked up in the
store first (the milliseconds of what it holds at that second), so a restarted edge goes
on counting. Readings (telemetry, states, health) are written once: always revision 1.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from contract.neighbour_points import ENVIRONMENT
from contract.schema import (
    EDGE_HEALTH,
    ENERGY,
    JOB_EVENT,
    MACHINE_STATE,
    OPERATOR_INPUT,
    TELEMETRY,
)

ONCE = frozenset(m.name for m in (MACHINE_STATE, TELEMETRY, ENERGY, ENVIRONMENT, JOB_EVENT,
                                  OPERATOR_INPUT, EDGE_HEALTH))
"""Measurements of what happened, never rewritten: no memory needed."""
DRAFT, FIRST, LAST = 0, 1, 999
Key = tuple[str, int]
"""A point: its series (``measurement,tag=v,...`` as written) and its whole second."""
Lookup = Callable[[list[Key]], Awaitable[dict[Key, int]]]
"""The revisions the store holds of these points (absent: none)."""


def measurement_of(key: Key) -> str:
    return key[0].partition(",")[0]


class Revisions:
    def __init__(self, started_s: int, limit: int = 200_000) -> None:
        self._known: OrderedDict[Key, int] = OrderedDict()
        self._limit = limit
        self._look_before_s = started_s
        """Points before this second may have been written by an earlier run."""

    def to_look_up(self, keys: Iterable[Key]) -> list[Key]:
        return sorted({k for k in keys if k not in self._known and k[1] < self._look_before_s
                       and measurement_of(k) not in ONCE})

    def learn(self, found: dict[Key, int]) -> None:
        for key, revision in found.items():
            self._remember(key, max(revision, self._known.get(key, DRAFT)))

    def written(self, revisions: dict[Key, int]) -> None:
        """The revisions of final writes the store took."""
        self.learn({key: revision for key, revision in revisions.items()
                    if revision >= FIRST and measurement_of(key) not in ONCE})

    def next(self, key: Key, draft: bool) -> int:
        """The revision this write gets (remembered once it is written: :meth:`learn`)."""
        if draft:
            return DRAFT
        if measurement_of(key) in ONCE:
            return FIRST
        return min(LAST, self._known.get(key, DRAFT) + 1)

    def _remember(self, key: Key, revision: int) -> None:
        self._known[key] = revision
        self._known.move_to_end(key)
        while len(self._known) > self._limit:
            (_, second), _ = self._known.popitem(last=False)
            self._look_before_s = max(self._look_before_s, second + 1)


async def revisions_for(revisions: Revisions, keys: list[tuple[Key, bool]],
                        lookup: Lookup | None) -> dict[Key, int]:
    """The revision of each point of a batch (final writes of the same point: the last)."""
    wanted = revisions.to_look_up(k for k, draft in keys if not draft)
    if wanted and lookup is not None:
        found = await lookup(wanted)
        revisions.learn({k: found.get(k, DRAFT) for k in wanted})
    return {key: revisions.next(key, draft) for key, draft in keys}
