"""``silent``: no message from the machine for ``after_min`` minutes."""

from __future__ import annotations

from edge.pipeline.kpi.memory import MachineMemory
from edge.pipeline.kpi.rules import NS, Condition, Parameters, Rule, Watch


def quiet_too_long(rule: Parameters, m: MachineMemory, watch: Watch) -> Condition | None:
    seen = m.clock.last_seen_ns
    due = seen + int(rule.after_min * 60 * NS)
    return Condition(seen, due) if seen and watch.now_ns >= due else None


RULE = Rule("silent", quiet_too_long, {
    "en": {"firing": "{name}: no message for {minutes} min",
           "resolved": "{name}: speaking again"},
    "fr": {"firing": "{name} : aucun message depuis {minutes} min",
           "resolved": "{name} : parle de nouveau"},
})
