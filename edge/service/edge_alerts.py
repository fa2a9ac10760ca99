"""The ``edge`` rule: the edge's own trouble told like a machine's: a buffer filling
up, InfluxDB out of reach, points dropped.

It watches the service's status on the wall clock, not the readings' clock: a replay
has no buffer or InfluxDB of its own, so it computes none of these. Its states are kept
in the buffer's file beside the machines' KPI memory (row ``@edge``), in the same
transaction as its points, so a restart does not tell a firing alert again, and one
whose trouble ended while the edge was down resolves once it is back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from edge.pipeline.kpi.alerts import MESSAGES, Alert, number, step
from edge.pipeline.kpi.context import Point
from edge.pipeline.kpi.memory import AlertState, dump, load_alerts
from edge.pipeline.kpi.rules import NS, Condition
from edge.pipeline.kpi.settings import AlertRule
from edge.service.config import Config

KEY = "@edge"
"""Its row in the buffer's ``kpi_state`` (no machine id starts with @)."""
CHECKS = ("buffer", "sink", "dropped")


class EdgeAlerts:
    def __init__(self, config: Config, memory: bytes | None) -> None:
        self.rules = [(i, rule) for i, rule in enumerate(config.alerts) if rule.rule == "edge"]
        self.site, self.language = config.site.id, config.site.language
        self.name = f"{self.site} edge"
        self.states = load_alerts(memory, KEY) if memory else {}
        self._stored = memory or b""

    def check(self, status: Mapping[str, Any], now_ns: int) -> list[Alert]:
        """Alerts that fired or resolved, from the service's status (``circlemade status``
        shows the same figures)."""
        alerts = []
        for index, rule in self.rules:
            for check in CHECKS:
                state = self.states.setdefault(f"{index}:{check}", AlertState())
                condition = self._condition(check, rule, status, state, now_ns)
                if condition is False:
                    continue  # not known yet: as it was
                moved = step(state, condition, rule, now_ns)
                if moved is not None:
                    went, at = moved
                    key = f"edge/{check}" if went == "firing" else f"edge/{check}/resolved"
                    alerts.append(Alert(index, "edge", "", went,
                                        self._say(key, rule, status, now_ns), at, check))
        return alerts

    def points(self, alerts: list[Alert]) -> list[Point]:
        return [Point("alert", (("site", self.site), ("rule", "edge"), ("check", a.check)),
                      (("state", a.state), ("message", a.message)), a.time_ns)
                for a in alerts]

    def take_state(self) -> dict[str, bytes]:
        """The states, when they changed since the last call, to be stored with the
        points."""
        blob = dump(self.states)
        if blob == self._stored:
            return {}
        self._stored = blob
        return {KEY: blob}

    @staticmethod
    def _condition(check: str, rule: AlertRule, status: Mapping[str, Any],
                   state: AlertState, now_ns: int) -> Condition | Literal[False] | None:
        """Whether the trouble is there (a Condition), not (None), or not known yet
        (False: InfluxDB was out of reach before a restart and nothing was written
        since)."""
        wait = int(rule.after_min * 60 * NS)
        if check == "buffer":
            bound = status["buffer_max_points"] or 1
            full = status["buffer_depth"] * 100 / bound >= rule.above_pct
            return Condition(now_ns, now_ns) if full or status["buffer_full"] else None
        if check == "sink":
            failing = status["write_failing_since_s"]
            if failing is not None:
                since = int(failing * NS)
                return Condition(since, since + wait)
            return False if state.firing and status["last_write_s"] is None else None
        dropped = status["buffer_last_drop_s"]
        if dropped is None or now_ns - int(dropped * NS) >= wait:
            return None
        return Condition(int(dropped * NS), int(dropped * NS))

    def _say(self, key: str, rule: AlertRule, status: Mapping[str, Any], now_ns: int) -> str:
        failing = status["write_failing_since_s"]
        return MESSAGES[self.language][key].format(
            name=self.name, depth=status["buffer_depth"],
            pct=number(status["buffer_depth"] * 100 / (status["buffer_max_points"] or 1), 0,
                       self.language),
            minutes=round(rule.after_min if failing is None else now_ns / NS / 60
                          - failing / 60),
            error=status["last_write_error"] or "?", count=status["buffer_dropped"])
