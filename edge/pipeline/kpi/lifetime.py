"""Equipment life: what a machine and each of its components has done since it was
installed, never reset by a restart or a replay, and what falls due (docs/lifetime.md).

The machine itself counts everything (``COUNTS``); a component counts one thing, maybe
only while a material is in the machine or a signal is above a threshold, from the
``initial`` it had when the edge first saw it. A service restarts its interval; a
replacement also starts a new part's life. Status by the share of the interval used:
ok, warning (``warn_at_pct`` or less left), due (100 %), overdue (past 100 % by
``warn_at_pct`` more). A ``lifetime`` point per component when an hour has ended and
whenever its status changes; a ``maintenance`` point for what a person recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from contract.reading import Reading
from edge.pipeline.kpi.context import NS, MachineContext, OperatorRefused, Point
from edge.pipeline.kpi.memory import UNKNOWN, LifetimeMemory, PartLife
from edge.pipeline.settings import COUNTS, Component

EPSILON = 1e-9
"""Of a percent: a count that lands on a threshold is at it, whatever the last bit."""
NS_PER_H = 3600 * NS
NS_PER_DAY = 86400 * NS
HOURS = {"run_h": frozenset({"running"}),
         "powered_h": frozenset({"running", "idle", "fault", "maintenance"})}
"""The states each hour counter counts in (powered: drawing more than standby)."""


@dataclass(frozen=True)
class Due:
    """Where one counter of a component stands against its interval."""

    counts: str
    since_service: float
    due_in: float
    due_pct: float
    status: str


class Lifetime:
    def __init__(self, context: MachineContext, memory: LifetimeMemory,
                 material: Callable[[], str]) -> None:
        """``material``: the material in the machine now (the lot's, or its own)."""
        self.context, self.m, self.material = context, memory, material
        self.components = {f"{c.name}/{c.counts}": c for c in context.machine.components}
        self.keys: dict[str, list[str]] = {"machine": []}
        """Each component's counters by name, the machine first (it always is one)."""
        for key, component in self.components.items():
            self.keys.setdefault(component.name, []).append(key)
        self.watched = frozenset(
            {c.only_while.signal for c in self.components.values() if c.only_while}
            | {c.device_signal for c in self.components.values() if c.device_signal})
        """Signals a component's condition reads: their readings come here."""
        self.by_material = any(c.only_materials for c in self.components.values())

    # -- what the machine does --------------------------------------------------------

    def seen(self, t: int) -> None:
        m = self.m
        if not m.since_ns:
            m.since_ns = t
        for key in self.components:
            if key not in m.parts:
                m.parts[key] = PartLife(since_ns=t)

    def hours(self, start: int, t: int, state: str) -> None:
        """The state held over [start, t) counted into the hour counters."""
        if state == UNKNOWN:
            return
        for counts, states in HOURS.items():
            if state in states:
                self._add_ns(counts, t - start)

    def spent(self, kwh: float) -> None:
        self._add("kwh", kwh)

    def fed(self, filament_mm: float) -> None:
        self._add("filament_m", filament_mm / 1000)

    def job_ended(self, good: float) -> None:
        self._add("jobs", 1.0)
        self._add("good_parts", good)

    def recounted(self, good_before: float, good_now: float) -> None:
        """A verdict that found more good parts than counted adds them; fewer leaves
        the counter as it is (it never goes back)."""
        self._add("good_parts", max(0.0, good_now - good_before))

    def level(self, r: Reading) -> None:
        """A watched signal's new value, from its reading's time on."""
        if isinstance(r.value, int | float):
            self.m.levels[r.signal] = float(r.value)

    def _add_ns(self, counts: str, amount: int) -> None:
        machine = self.m.machine_ns
        machine[counts] = machine.get(counts, 0) + amount
        for key, component in self.components.items():
            if component.counts == counts and self._counting(component):
                self.m.parts[key].counted_ns += amount

    def _add(self, counts: str, amount: float) -> None:
        if amount <= 0:
            return
        machine = self.m.machine
        machine[counts] = machine.get(counts, 0.0) + amount
        for key, component in self.components.items():
            if component.counts == counts and self._counting(component):
                self.m.parts[key].counted += amount

    def _counting(self, component: Component) -> bool:
        if component.only_materials and self.material() not in component.only_materials:
            return False
        condition = component.only_while
        return condition is None or self.m.levels.get(condition.signal, float("-inf")) \
            > condition.above

    # -- where each component stands --------------------------------------------------

    def total(self, key: str, t: int) -> float:
        """The device's own count when it keeps one and has said it, else the edge's."""
        signal = self.components[key].device_signal
        if signal is not None and signal in self.m.levels:
            return self.m.levels[signal]
        return self.derived(key, t)

    def derived(self, key: str, t: int) -> float:
        """What the edge counted itself, from the config's ``initial``."""
        component, part = self.components[key], self.m.parts[key]
        base = 0.0 if part.replaced else component.initial
        if component.counts == "days":
            return base + max(0, t - part.since_ns) / NS_PER_DAY
        if component.counts in HOURS:
            return base + part.counted_ns / NS_PER_H
        return base + part.counted

    def due(self, key: str, t: int) -> Due:
        component = self.components[key]
        since = self.total(key, t) - self.m.parts[key].at_service
        used = since / component.service_every * 100
        status = ("overdue" if used >= 100 + component.warn_at_pct - EPSILON else
                  "due" if used >= 100 - EPSILON else
                  "warning" if used >= 100 - component.warn_at_pct - EPSILON else "ok")
        return Due(component.counts, since, component.service_every - since, used, status)

    def urgent(self, name: str, t: int) -> Due | None:
        dues = [self.due(key, t) for key in self.keys.get(name, [])]
        return max(dues, key=lambda d: d.due_pct) if dues else None

    def blocked(self, t: int) -> list[str]:
        """Components that say no new job should start: overdue with ``block_jobs``."""
        return sorted({c.name for key, c in self.components.items()
                       if c.block_jobs and self.due(key, t).status == "overdue"})

    # -- points -----------------------------------------------------------------------

    def check(self, t: int, points: list[Point]) -> None:
        """A point for each component whose status changed."""
        if not self.components:
            return  # the machine alone has no interval, so no status
        for name in self.keys:
            due = self.urgent(name, t)
            if due is not None and self.m.status.get(name) != due.status:
                self._write(name, t, points)

    def hour_ended(self, now: int, points: list[Point]) -> None:
        """Every component's point once per hour, at the first tick of the next."""
        hour = self.context.calendar.hour_of(now)[0]
        if not self.m.since_ns or hour <= self.m.written_hour_ns:
            return
        self.m.written_hour_ns = hour
        for name in self.keys:
            self._write(name, now, points)

    def _write(self, name: str, t: int, points: list[Point]) -> None:
        fields: list[tuple[str, float | str]] = list(self._counts(name, t))
        due = self.urgent(name, t)
        if due is not None:
            if self.m.status.get(name) != due.status:
                self.m.status_ns[name] = t
            self.m.status[name] = due.status
            fields += [("since_service", due.since_service), ("due_in", due.due_in),
                       ("due_pct", due.due_pct), ("status", due.status),
                       ("due_counts", due.counts)]
        points.append(Point("lifetime", self.context.tags(("component", name)),
                            tuple(fields), t))

    def _counts(self, name: str, t: int) -> Iterator[tuple[str, float]]:
        own = {key.partition("/")[2]: self.total(key, t) for key in self.keys.get(name, [])}
        drift = [self.total(key, t) - self.derived(key, t) for key in self.keys.get(name, [])
                 if self.components[key].device_signal in self.m.levels]
        if drift:
            yield "drift", drift[0]
        if name == "machine":
            machine = dict(self.m.machine)
            machine |= {counts: ns / NS_PER_H for counts, ns in self.m.machine_ns.items()}
            machine["days"] = max(0, t - self.m.since_ns) / NS_PER_DAY
            own = {counts: machine.get(counts, 0.0) for counts in COUNTS} | own
        yield from sorted(own.items())

    # -- what people did --------------------------------------------------------------

    def maintained(self, said: dict[str, float | str], t: int, points: list[Point]) -> None:
        name, action = str(said["component"]), str(said["maintenance_action"])
        keys = self.keys.get(name, [])
        if not keys and name != "machine":
            raise OperatorRefused(f"maintenance: component: {name!r:.40} is not a component "
                                  f"of {self.context.machine.id}")
        before = self.urgent(name, t)
        for key in keys:
            part = self.m.parts[key]
            if action == "replaced":
                part.counted, part.counted_ns, part.replaced, part.since_ns = 0.0, 0, True, t
            if action in ("serviced", "replaced"):
                part.at_service = self.total(key, t)
        self.m.done[name] = (action, t)
        fields: list[tuple[str, float | str]] = [("action", action)]
        fields += [(k, str(said[k])) for k in ("note", "by") if k in said]
        if before is not None:
            fields.append(("since_service", before.since_service))
        points.append(Point("maintenance", self.context.tags(("component", name)),
                            tuple(fields), t))
        self._write(name, t, points)

