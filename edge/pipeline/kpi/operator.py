"""What people say at the terminal: a verdict on a job, a reason for a stop, a lot loaded
or unloaded. Its signals come before their ``action`` (gateways/operator_input.py) and
are applied together when it comes."""

from __future__ import annotations

from collections.abc import Callable

from contract.reading import Reading
from edge.pipeline.kpi.context import NS, OperatorRefused, Point
from edge.pipeline.kpi.jobs import Jobs
from edge.pipeline.kpi.lifetime import Lifetime
from edge.pipeline.kpi.material import Material
from edge.pipeline.kpi.stops import Stops

OPERATOR_FIELDS = frozenset({
    "verdict_good", "verdict_scrap", "reason", "job", "by", "product", "from_s", "to_s", "lot",
    "lot_material", "recycled_pct", "supplier", "mass_g", "density_g_cm3", "remaining_g",
    "component", "maintenance_action", "note", "batch", "batch_action", "quantity",
    "price_per_kg", "verdict_rework"})
"""Signals of operator input that come before its ``action``."""

Apply = Callable[[dict[str, float | str], int, list[Point]], None]
"""Applies what one action says, at an instant, writing its points."""


class OperatorInput:
    def __init__(self, machine: str, jobs: Jobs, stops: Stops, material: Material,
                 lifetime: Lifetime, advance: Callable[[int], None], batch: Apply) -> None:
        """``advance``: account the time up to an instant (before what is said changes
        what counts)."""
        self.machine, self.jobs, self.stops, self.material = machine, jobs, stops, material
        self.lifetime, self.advance = lifetime, advance
        self._actions: dict[str, Apply] = {
            "verdict": self._verdict, "downtime": self._downtime, "load": self._load,
            "unload": self._unload, "batch": batch, "maintenance": self._maintained}
        """Each action of the operator contract and what applies it."""
        self._said: list[Reading] = []
        """The operator input of the message being read, until its action."""

    def on_said(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        self._said.append(r)  # stored with its action, or not at all
        return False

    def on_action(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        said, self._said = self._said, []
        self._apply(str(r.value), {x.signal: x.value for x in said}, r.time_ns, points)
        out.extend(said)
        return True

    def _apply(self, action: str, said: dict[str, float | str], t: int,
               points: list[Point]) -> None:
        apply = self._actions.get(action)
        if apply is None:
            raise OperatorRefused(f"action: unknown action {action!r:.30}")
        apply(said, t, points)

    def _verdict(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        self.jobs.verdict(said, points)

    def _load(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        self._before_lot_change(t)
        self.material.load(said, t, points)

    def _unload(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        self._before_lot_change(t)
        self.material.unload(said, t, points)

    def _before_lot_change(self, t: int) -> None:
        if self.lifetime.by_material:  # the time before counted with the material then
            self.advance(t)

    def _maintained(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        self.advance(t)  # the hours up to now counted before the interval restarts
        self.lifetime.maintained(said, t, points)

    def _downtime(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        """A reason for the stop in progress or the last one, or for every stop that
        began between ``from`` and ``to``."""
        between = "from_s" in said
        begin = float(said["from_s"]) * NS if between else None
        chosen = self.stops.told(str(said["reason"]), str(said.get("by", "")), begin,
                                 float(said.get("to_s", 0.0)) * NS)
        if not chosen:
            raise OperatorRefused(f"downtime: {self.machine} has no stop "
                                  + ("that began between from and to" if between
                                     else "to give a reason for"))
        for stop in chosen:
            self.stops.write(stop, t, points)
