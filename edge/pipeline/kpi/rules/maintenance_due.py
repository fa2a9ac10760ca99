"""``maintenance_due``: a component of the machine nears its service (warning), then
falls due; each level is told once, from when the status changed, and the alert
resolves when a maintenance event brings it back to ok (docs/lifetime.md). A component
with ``block_jobs`` overdue is told once more: no new job should start on the machine
(the edge only says it, it never stops a machine)."""

from __future__ import annotations

from edge.pipeline.kpi.memory import MachineMemory
from edge.pipeline.kpi.rules import Condition, Parameters, Rule, Watch

LEVELS = ("warning", "due", "blocked")
"""From the least to the most urgent."""
STATUS_LEVELS = {"warning": "warning", "due": "due", "overdue": "due"}
"""A component's status -> the alert's level (overdue is told as due: it already was,
unless the component blocks jobs)."""


def falls_due(rule: Parameters, m: MachineMemory, watch: Watch) -> Condition | None:
    life = m.lifetime
    levels = {name: "blocked" if status == "overdue" and name in watch.blocking
              else STATUS_LEVELS[status]
              for name, status in life.status.items() if status in STATUS_LEVELS}
    if not levels:
        return None
    level = max(levels.values(), key=LEVELS.index)
    names = sorted(name for name, at in levels.items() if at == level)
    since = max(life.status_ns.get(name, watch.now_ns) for name in names)
    return Condition(since, since, level, ", ".join(names))


RULE = Rule("maintenance_due", falls_due, {
    "en": {"firing": "{name}: maintenance needed: {about}",
           "warning": "{name}: maintenance soon: {about}",
           "due": "{name}: maintenance due: {about}",
           "blocked": "{name}: maintenance overdue, start no new job: {about}",
           "resolved": "{name}: maintenance done, nothing due"},
    "fr": {"firing": "{name} : entretien nécessaire : {about}",
           "warning": "{name} : entretien bientôt : {about}",
           "due": "{name} : entretien à faire : {about}",
           "blocked": "{name} : entretien en retard, ne lancez pas de nouveau travail : "
                      "{about}",
           "resolved": "{name} : entretien fait, plus rien à faire"},
}, levels=LEVELS)
