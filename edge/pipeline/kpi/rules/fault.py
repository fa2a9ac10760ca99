"""``fault``: the machine is in fault. Fires at once; with ``on_scrap`` a job that ends
as scrap or aborted is told too (an event of the job's end, in alerts.py)."""

from __future__ import annotations

from edge.pipeline.kpi.memory import MachineMemory
from edge.pipeline.kpi.rules import Condition, Parameters, Rule, Watch


def in_fault(rule: Parameters, m: MachineMemory, watch: Watch) -> Condition | None:
    since = m.clock.state_ns or watch.now_ns
    return Condition(since, since) if m.clock.state == "fault" else None


RULE = Rule("fault", in_fault, {
    "en": {"firing": "{name}: in fault since {since}", "resolved": "{name}: out of fault"},
    "fr": {"firing": "{name} : en défaut depuis {since}",
           "resolved": "{name} : sortie de défaut"},
})
