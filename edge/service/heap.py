"""Garbage collection for a service that lives for months on a stream of short-lived objects.

CPython's cycle collector was a fifth of the edge's CPU at 13,000 msg/s (bench/README.md):
each full collection walked everything that imports, the config and the pydantic models
keep alive for good, and the youngest generation was collected every 700 allocations
while reference counting had already freed nearly all of it (the hot path makes almost
no reference cycles). Once started, what exists is frozen (never scanned again) and the
youngest generation waits for 10,000 allocations. Cycles are still collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle_after_start() -> None:
    """Call once the long-lived objects exist, before the stream starts."""
    gc.collect()  # what is garbage now must not be frozen with the rest
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
