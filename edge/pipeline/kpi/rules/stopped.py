"""``stopped``: standing still for ``after_min`` minutes of planned time, and nobody has
said why (the stop's reason is still ``unassigned``)."""

from __future__ import annotations

from edge.pipeline.kpi.memory import MachineMemory
from edge.pipeline.kpi.rules import NOT_RUNNING, NS, Condition, Parameters, Rule, Watch


def stopped_unexplained(rule: Parameters, m: MachineMemory, watch: Watch) -> Condition | None:
    stop = m.stops.current
    if stop is None or m.clock.state not in NOT_RUNNING or stop.reason != "unassigned":
        return None
    planned = watch.planned_ns(stop.start_ns, watch.now_ns)
    due = watch.now_ns if planned >= int(rule.after_min * 60 * NS) else watch.now_ns + 1
    return Condition(stop.start_ns, due)


RULE = Rule("stopped", stopped_unexplained, {
    "en": {"firing": "{name}: standing still for {minutes} min of planned time, no reason "
                     "given",
           "resolved": "{name}: running again, or a reason was given"},
    "fr": {"firing": "{name} : à l'arrêt depuis {minutes} min de temps planifié, sans raison",
           "resolved": "{name} : repart, ou une raison a été donnée"},
})
