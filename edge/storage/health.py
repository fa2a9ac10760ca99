"""The service's own counters, written to ``edge_health`` so Grafana can watch the edge.

Counters are cumulative (like Prometheus counters), so a restart shows as a reset and
``non_negative_difference()`` in InfluxQL gives rates.
"""

from __future__ import annotations

import time
from collections import defaultdict

from contract.schema import EDGE_HEALTH
from edge.storage import line_protocol


class Health:
    def __init__(self, site: str) -> None:
        self._site = site
        self._values: defaultdict[str, dict[str, float]] = defaultdict(dict)

    def count(self, source: str, field: str, amount: float = 1) -> None:
        fields = self._values[source]
        fields[field] = fields.get(field, 0) + amount

    def set(self, source: str, field: str, value: float) -> None:
        self._values[source][field] = value

    def get(self, source: str, field: str) -> float:
        return self._values.get(source, {}).get(field, 0)

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {source: dict(fields) for source, fields in self._values.items()}

    def to_lines(self, time_ns: int | None = None) -> list[str]:
        now = time.time_ns() if time_ns is None else time_ns
        lines = []
        for source, fields in sorted(self._values.items()):
            known = [(k, v) for k, v in sorted(fields.items()) if k in EDGE_HEALTH.fields]
            if known:
                tags = [("site", self._site), ("source", source)]
                lines.append(line_protocol.encode(EDGE_HEALTH.name, tags, known, now))
        return lines
