"""The ``peak`` alert: while a quarter runs, where its average is heading, told before
it sets a new peak (docs/alerts.md, docs/metrics.md: the quarter's projection).

    projected kW = (kWh drawn so far + present kW x hours left) x 4

where "so far" is as far as the grid meter's counters have counted, and the present kW
is the grid meter's power less what it sends back. The threshold is the rule's
``above_kw``, else the month's peak so far (at least ``[grid] minimum_peak_kw``). It
fires once in a quarter, naming the machines drawing most and what each adds to the
quarter's average if it keeps drawing to its end; it resolves when the quarter ends,
saying where it ended. The edge only tells: it never switches a load.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.pipeline.kpi.alerts import Alert, number
from edge.pipeline.kpi.context import Point
from edge.pipeline.kpi.grid import Grid
from edge.pipeline.kpi.grid_memory import Guarded
from edge.pipeline.kpi.quarters import NS, QUARTER_NS, QUARTERS_PER_H, clock
from edge.pipeline.kpi.settings import AlertRule

NS_PER_H = 3600 * NS
NAMED = 3
"""Machines a message names."""
WORDS = {
    "en": {"firing": "{name}: the quarter {start}-{end} heads for {projected} kW, above "
                     "{threshold} kW ({against}); drawing most now: {machines}",
           "resolved": "{name}: the quarter {start}-{end} ended at {avg} kW, {side} "
                       "{threshold} kW",
           "peak": "this month's peak so far", "above_kw": "the threshold",
           "adds": "{machine} {kw} kW adds {adds} kW", "nobody": "no metered machine",
           "below": "below", "over": "above", "unknown": "not counted whole"},
    "fr": {"firing": "{name} : le quart d'heure {start}-{end} va vers {projected} kW, "
                     "au-dessus de {threshold} kW ({against}) ; consomment le plus : "
                     "{machines}",
           "resolved": "{name} : le quart d'heure {start}-{end} a fini à {avg} kW, "
                       "{side} {threshold} kW",
           "peak": "la pointe du mois jusqu'ici", "above_kw": "le seuil",
           "adds": "{machine} {kw} kW ajoute {adds} kW", "nobody": "aucune machine mesurée",
           "below": "sous", "over": "au-dessus de", "unknown": "pas compté en entier"},
}


class PeakGuard:
    def __init__(self, rules: list[tuple[int, AlertRule]], grid: Grid, name: str,
                 language: str, minimum_kw: float,
                 drawing: Callable[[], dict[str, tuple[str, float]]]) -> None:
        """``drawing``: the present kW of the grid meter (its id) and of each machine
        drawing, by id, with how a message names it."""
        self.rules, self.grid, self.name, self.minimum_kw = rules, grid, name, minimum_kw
        self.words, self.language, self.drawing = WORDS[language], language, drawing

    def check(self, now_ns: int, points: list[Point]) -> list[Alert]:
        """Where the running quarter heads (``demand_now``); resolve the alerts of
        quarters that ended; fire for this one if its projection passes a threshold.
        The alerts are the grid meter's: its machine writes their points."""
        alerts: list[Alert] = []
        start = self.grid.quarter_of(now_ns)
        drawing = self.drawing()
        present = drawing.get(self.grid.meter)
        projected = None if present is None else self.projection(now_ns, present[1])
        month_peak = max(self.grid.month_peak(now_ns) or 0.0, self.minimum_kw)
        if projected is not None and present is not None:
            points.append(Point("demand_now", (("site", self.grid.site),), (
                ("projected_kw", projected), ("present_kw", self._net(present[1])),
                ("threshold_kw", month_peak)), now_ns))
        for entry, rule in self.rules:
            state = self.grid.m.guards.setdefault(entry, Guarded())
            if state.quarter_ns and state.quarter_ns != start:
                alerts.append(self._resolved(entry, state))
                state.quarter_ns = 0
            if state.quarter_ns == start:
                continue
            threshold = rule.above_kw or month_peak
            if threshold > 0 and projected is not None and projected > threshold:
                state.quarter_ns, state.threshold_kw = start, threshold
                alerts.append(self._firing(entry, rule, now_ns, projected, threshold,
                                           drawing))
        return alerts

    def projection(self, now_ns: int, import_kw: float) -> float:
        """The running quarter's average if the present demand holds to its end."""
        start = self.grid.quarter_of(now_ns)
        quarter = self.grid.m.quarters.get(start)
        drawn = 0.0 if quarter is None else quarter.import_kwh - quarter.export_kwh
        counted = start if quarter is None or not quarter.until_ns else quarter.until_ns
        left_h = (start + QUARTER_NS - counted) / NS_PER_H
        return (drawn + self._net(import_kw) * left_h) * QUARTERS_PER_H

    def _net(self, import_kw: float) -> float:
        return import_kw - self.grid.m.export_w / 1000

    def _firing(self, entry: int, rule: AlertRule, now_ns: int, projected: float,
                threshold: float, drawing: dict[str, tuple[str, float]]) -> Alert:
        start = self.grid.quarter_of(now_ns)
        left = (start + QUARTER_NS - now_ns) / QUARTER_NS
        most = sorted(((kw, label) for machine, (label, kw) in drawing.items()
                       if machine != self.grid.meter and kw > 0), reverse=True)[:NAMED]
        words, n = self.words, self._n
        machines = ", ".join(words["adds"].format(machine=label, kw=n(kw), adds=n(kw * left))
                             for kw, label in most) or words["nobody"]
        message = words["firing"].format(
            name=self.name, start=clock(start, self.grid.zone),
            end=clock(start + QUARTER_NS, self.grid.zone), projected=n(projected),
            threshold=n(threshold), machines=machines,
            against=words["above_kw" if rule.above_kw else "peak"])
        return Alert(entry, "peak", self.grid.meter, "firing", message, now_ns)

    def _resolved(self, entry: int, state: Guarded) -> Alert:
        """At the quarter's end, where it ended as far as the meter has counted it."""
        start, words = state.quarter_ns, self.words
        quarter = self.grid.m.quarters.get(start)
        avg = None if quarter is None else (
            quarter.import_kwh - quarter.export_kwh) * QUARTERS_PER_H
        side = words["unknown"] if avg is None else words[
            "over" if avg > state.threshold_kw else "below"]
        message = words["resolved"].format(
            name=self.name, start=clock(start, self.grid.zone),
            end=clock(start + QUARTER_NS, self.grid.zone),
            avg="?" if avg is None else self._n(avg), side=side,
            threshold=self._n(state.threshold_kw))
        return Alert(entry, "peak", self.grid.meter, "resolved", message, start + QUARTER_NS)

    def _n(self, kw: float) -> str:
        return number(kw, 1, self.language)
