"""What a gateway counts (messages, reconnects, last message) and how: the edge's health
counters (edge/storage/health.py) fit this, and so does a test's."""

from __future__ import annotations

from typing import Protocol


class Counters(Protocol):
    def count(self, source: str, field: str, amount: float = 1) -> None: ...

    def set(self, source: str, field: str, value: float) -> None: ...

    def get(self, source: str, field: str) -> float: ...
