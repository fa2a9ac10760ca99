"""``maintenance_due``: a component of the machine nears its service (warning), then
falls due; each level is told once, from when the status changed, and the alert
resolves when a maintenance event brings it back to ok (docs/lifetime.md). A component
with ``block_jobs`` overdue says the machine should not start a new job: the edge only
says it, it never stops a machine."""

from __future__ import annotations

from edge.pipeline.kpi.memory import MachineMemory
from edge.pipeline.kpi.rules import Condition, Parameters, Rule, Watch

LEVELS = {"warning": "warning", "due": "due", "overdue": "due"}
"""A component's status -> the alert's level (overdue is told as due: it already was)."""
RANK = {"warning": 1, "due": 2}


def falls_due(rule: Parameters, m: MachineMemory, watch: Watch) -> Condition | None:
    life = m.lifetime
    levels = {name: LEVELS[status] for name, status in life.status.items() if status in LEVELS}
    if not levels:
        return None
    level = max(levels.values(), key=RANK.__getitem__)
    names = sorted(name for name, at in levels.items() if at == level)
    since = max(life.status_ns.get(name, watch.now_ns) for name in names)
    about = ", ".join(names)
    blocked = sorted(name for name in names if life.status.get(name) == "overdue"
                     and name in life.blocks)
    if blocked:
        about += " [no new job]"
    return Condition(since, since, level, about)


RULE = Rule("maintenance_due", falls_due, {
    "en": {"firing": "{name}: maintenance needed: {about}",
           "warning": "{name}: maintenance soon: {about}",
           "due": "{name}: maintenance due: {about}",
           "resolved": "{name}: maintenance done, nothing due"},
    "fr": {"firing": "{name} : entretien nécessaire : {about}",
           "warning": "{name} : entretien bientôt : {about}",
           "due": "{name} : entretien à faire : {about}",
           "resolved": "{name} : entretien fait, plus rien à faire"},
}, levels=("warning", "due"))
